// The canonical state of the model inside a small window, as a compact byte string: what the
// explorer (sim/explorer.hpp) hashes to expand each distinct state once, and decodes back into
// a kernel to run the same rules on it.
//
// What it holds: mm_struct (every VMA with its flags, file, pgoff, anon_vma, vm_page_prot and
// non_sd_reg nodes; every PTE; whether the window's page table exists; the memory files' cached,
// swapped and written pages; uffd ctx, swap, cleared_refs, the mutant) and the oracle's ghost
// sets (stored and newly mapped since clear_refs and since the write-protect reset). Not held:
// the oracle's cumulative counts (history, not state) and brk (the explorer has no brk).
//
// Identities are renamed canonically, so that states that differ only by object identity
// encode the same: vma_id and anon_vma ids by order of first appearance in address order, files
// as named memfds first (by name: a name is how a trace reaches a file), then the shmem files of
// shared-anonymous mappings by first appearance; such a file no VMA maps any more can never be
// reached again and is dropped.
//
// Layout (all positions relative to the window): a header byte, one 16-bit word per page for
// the PTE, seven bitmaps of the oracle's sets, then the VMAs in address order and the files,
// variable parts as LEB128 varints. For a 4-page window with two VMAs and one memfd that is
// about 40 bytes.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/kernel.hpp"
#include "sim/oracle.hpp"

namespace sdmc {

// The pages the explorer works in: [base, base + pages), inside one 2 MiB page-table span.
struct state_window {
  pfn_t base = 0;
  unsigned pages = 0;
};

// A state the compact encoding cannot hold (something outside the window, a brk heap).
struct codec_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Writes the canonical encoding of (k, o) into `out` (cleared first; its capacity is reused).
void encode_state(const kernel& k, const oracle& o, const state_window& w, std::string& out);
// The same key written into `buf` (grown as needed: its size is a capacity, reused from call
// to call), as a view valid until `buf` changes. The explorer's per-transition path.
std::string_view encode_state(const kernel& k, const oracle& o, const state_window& w,
                              std::vector<char>& buf);

// Restores an encoded state into a freshly constructed kernel `k` (with the run's policy) and
// a fresh oracle `o`; k.obs is left for the caller. encode_state(decode_state(x)) == x.
void decode_state(std::string_view key, const state_window& w, kernel& k, oracle& o);

// A 128-bit fingerprint of a key (MurmurHash3 x64-128): the explorer's visited set keeps
// fingerprints, not keys.
struct fingerprint128 {
  std::uint64_t lo = 0, hi = 0;
  bool operator==(const fingerprint128&) const = default;
};
fingerprint128 fingerprint(std::string_view key);

}  // namespace sdmc
