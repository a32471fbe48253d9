// The explorer's compact engine (issue 3, "The model checker": "a compact fixed-size state for
// small windows, running the same rules as the model"): a state of at most 8 pages that is its
// own key (128 bytes; 64 when the alphabet maps no memory files: anon_state; no encoding, no
// decoding, no allocation), and sim/'s rules restated on its arrays for the operations it
// covers, every design decision still asked of the policy object. The model (sim/) stays the
// authority: the explorer checks this engine against it transition by transition (`sdmc
// explore --engine compact --cross-check`, and the ctest compact_engine_test), and every state
// that fails a property is rebuilt as a model kernel and judged by the model
// (sim/explorer.hpp:state_failures) before it is reported.
//
// Covered: private anonymous memory and memory files -- shared anonymous mappings (each its
// own shmem file) and shared mappings of one memfd, with their page cache, fault-around,
// write-notify (vm_page_prot) and shmem reclaim (mmap_anon, mmap_shared, mmap_memfd, munmap,
// mprotect to rw-, r-- and ---, mremap moving, growing and shrinking, madvise dontneed,
// pageout, random and normal, write, read, clear_refs, fork, uffd_wp, reclaim, with or
// without swap) under every design: those without per-page state beside the VMA
// (upstream-6.12, sticky, precise with its re-merge at clear_refs, uffd-wp with its consumer)
// and the granular non_sd_reg designs (granular, granular-coalesce: their lists as two
// bitmaps, the list rules of model/policies/granular.cpp restated on them), and the mutants
// of that ground (covered_mutants); no extra check. Not covered: MAP_DROPPABLE (and with it
// the mutant droppable-dirty-skip-and), read-only memfd opens, MAP_POPULATE, PROT_EXEC.
// rules::unsupported names what is not covered; the explorer then refuses the engine rather
// than run something else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "model/mm.hpp"
#include "model/policy.hpp"
#include "sim/explorer.hpp"
#include "sim/oracle.hpp"
#include "sim/state_codec.hpp"

namespace sdmc::compact {

inline constexpr unsigned max_pages = 8;
// The pages [s, e) of the window as a bitmap (bit p: page p).
constexpr std::uint8_t page_mask(unsigned s, unsigned e) { return std::uint8_t(((1u << e) - 1) & ~((1u << s) - 1)); }

// The mutants of the catalogue whose bug lies on this ground.
inline constexpr mutant covered_mutants[] = {
    mutant::new_vma_not_soft_dirty,       mutant::pte_hole_ignores_vma,
    mutant::can_change_pte_writable_inverted, mutant::swap_loses_soft_dirty,
    mutant::mremap_move_not_soft_dirty,   mutant::scan_zapped_pte_not_written,
    mutant::gap_uses_next_vma_flag,       mutant::granular_split_drops_node,
    mutant::no_writenotify_after_clear,
};

// A PTE in one byte: what sim/'s rules can make of the covered memory (model/pte.hpp).
enum pte_bit : std::uint8_t {
  PTE_PRESENT = 1,  // pte_present; with neither PTE_ANON nor PTE_FILE the shared zero page
  PTE_ANON = 2,     // an anonymous folio
  PTE_WRITE = 4,
  PTE_DIRTY = 8,
  PTE_SOFT_DIRTY = 16,
  PTE_EXCLUSIVE = 32,  // PageAnonExclusive (of an anon page, or of the swap entry)
  // The same bit on a present PTE without PTE_ANON: a page-cache page of the VMA's memory
  // file (which PageAnonExclusive never concerns, and the zero page never is).
  PTE_FILE = 32,
  PTE_SWAP = 64,       // a swap entry (with PTE_SOFT_DIRTY: _PAGE_SWP_SOFT_DIRTY)
  PTE_UFFD_WP = 128,   // _PAGE_UFFD_WP / _PAGE_SWP_UFFD_WP; alone: a PTE_MARKER_UFFD_WP
};
inline bool pte_is_file(std::uint8_t pte) { return (pte & (PTE_PRESENT | PTE_ANON | PTE_FILE)) == (PTE_PRESENT | PTE_FILE); }

// vm_flags in one byte: VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC are always set (mm/mmap.c:do_mmap);
// F_SHARED is VM_SHARED|VM_MAYSHARE.
enum flag_bit : std::uint8_t {
  F_READ = 1, F_WRITE = 2, F_ACCOUNT = 4, F_SOFTDIRTY = 8, F_RAND_READ = 16, F_UFFD_WP = 32,
  F_SHARED = 64
};
inline constexpr unsigned flag_values = 128;
vm_flags_t vm_flags_of(std::uint8_t bits);
std::uint8_t flag_bits_of(vm_flags_t flags);  // std::logic_error for a flag it cannot hold

// The memfd's file id; shared-anonymous files are 2 and up.
inline constexpr std::uint8_t MEMFD = 1;
inline constexpr unsigned max_files = 1 + max_pages;  // each shared-anon file has a VMA

struct cvma {
  std::uint8_t start = 0, end = 0;  // window pages
  std::uint8_t anon = 0;            // anon_vma: 0 none, else renamed by first appearance
  std::uint8_t flags = 0;           // flag_bit
  // vm_pgoff - vm_start (pages): 0 until mremap moves an anonymous VMA; for a file VMA the
  // file index of window page p is p + pgoff.
  std::int8_t pgoff = 0;
  std::uint8_t file = 0;            // 0 none, MEMFD, or a shared-anon file (renamed as anon)
  std::uint8_t page_prot_write = 0; // vm_page_prot allows writes (vma_value::page_prot_write)
  bool operator==(const cvma&) const = default;
};

// A memory file (model/memfile.hpp): its size and, per file index (bit i), the page cache,
// dirty folios, swap and the ghost's written pages. size 0: the file does not exist.
struct cfile {
  std::uint8_t size = 0, cached = 0, dirty = 0, swapped = 0, written = 0;
  bool operator==(const cfile&) const = default;
};

// Byte equality of a state, word by word (inlined, unlike a memcmp call).
template <class S>
bool same_bytes(const S& x, const S& y) {
  static_assert(sizeof(S) % 8 == 0);
  std::uint64_t a[sizeof(S) / 8], b[sizeof(S) / 8], d = 0;
  std::memcpy(a, &x, sizeof a);
  std::memcpy(b, &y, sizeof b);
  for (std::size_t i = 0; i < sizeof(S) / 8; ++i) d |= a[i] ^ b[i];
  return d == 0;
}

// Unused slots stay zero, anon_vma and shared-anon file ids are renamed after every
// operation (a file no VMA maps is gone): equal states are equal bytes.
struct state {
  static constexpr bool has_files = true;
  using vma_type = cvma;
  std::array<std::uint8_t, max_pages> pte{};
  std::uint8_t nvma = 0;
  std::uint8_t table = 0;    // the window's PTE table exists
  std::uint8_t cleared = 0;  // mm.cleared_refs
  std::uint8_t stored = 0;   // the oracle: pages stored to since clear_refs (bit p: page p)
  std::uint8_t fresh = 0;    // ... newly mapped since clear_refs
  std::uint8_t moved = 0;    // ... placed by mremap without being new at their source (a gap)
  std::uint8_t moved_pte = 0;  // ... moved with their PTE
  std::uint8_t zapped = 0;     // ... whose file page was zapped and kept (oracle::zapped_kept)
  std::uint8_t uffd_ctx = 0;   // mm.uffd_ctx: a userfaultfd exists
  std::uint8_t wp_tracking = 0;  // the oracle: a write-protect reset has happened
  std::uint8_t stored_wp = 0;    // ... pages stored to since their write-protect reset
  std::uint8_t new_wp = 0;       // ... newly mapped since then
  // The granular designs' non_sd_reg lists (mm.non_sd_regs): the pages a node covers, and the
  // first page of each node. Nodes are disjoint and lie inside their VMA, so the two bitmaps
  // and the VMAs give back every list exactly (adjacent nodes stay two: a start between them).
  std::uint8_t nsd_covered = 0;
  std::uint8_t nsd_start = 0;
  std::uint8_t pad0[2]{};
  std::array<cvma, max_pages> vma{};
  // files[0] the memfd, files[k - 1] the file with id k; last, from byte 80 on, so that a
  // state without memory files hashes ten words (fingerprint).
  std::array<cfile, max_files> files{};
  std::uint8_t pad[3]{};
  bool operator==(const state& o) const { return same_bytes(*this, o); }
};
static_assert(sizeof(state) == 128);
static_assert(offsetof(state, files) == 80);

// A search without memory files (an alphabet of private anonymous memory alone: sdmc check's
// deeper search, --ops without mmap_shared and mmap_memfd) runs the same rules on half the
// bytes: the fields only memory files set are left out. Such a field reads zero and takes
// only zero (anything else is a logic error: the alphabet was given the narrow state).
[[noreturn]] void narrow_state_overflow();
template <int Tag>
struct zero_field {
  constexpr operator std::uint8_t() const { return 0; }
  zero_field& operator=(std::uint8_t v) {
    if (v) [[unlikely]] narrow_state_overflow();
    return *this;
  }
  zero_field& operator|=(std::uint8_t v) { return *this = v; }
  zero_field& operator&=(std::uint8_t) { return *this; }
  bool operator==(const zero_field&) const = default;
};

struct anon_cvma {
  std::uint8_t start = 0, end = 0, anon = 0, flags = 0;
  std::int8_t pgoff = 0;
  [[no_unique_address]] zero_field<0> file;
  [[no_unique_address]] zero_field<1> page_prot_write;  // private: never (kernel::page_prot_write)
  bool operator==(const anon_cvma&) const = default;
};
static_assert(sizeof(anon_cvma) == 5);

struct anon_state {
  static constexpr bool has_files = false;
  using vma_type = anon_cvma;
  std::array<std::uint8_t, max_pages> pte{};
  std::uint8_t nvma = 0, table = 0, cleared = 0, stored = 0, fresh = 0, moved = 0, moved_pte = 0;
  [[no_unique_address]] zero_field<2> zapped;  // only file pages are zapped and kept
  std::uint8_t uffd_ctx = 0, wp_tracking = 0, stored_wp = 0, new_wp = 0, nsd_covered = 0, nsd_start = 0;
  std::array<anon_cvma, max_pages> vma{};
  std::uint8_t pad[3]{};
  bool operator==(const anon_state& o) const { return same_bytes(*this, o); }
};
static_assert(sizeof(anon_state) == 64 && std::is_trivially_copyable_v<anon_state>);

fingerprint128 fingerprint(const state& s);
fingerprint128 fingerprint(const anon_state& s);
// The state in one line, for error messages: PTE bytes (pte_bit), VMAs [start-end anon_vma
// flags(flag_bit) pgoff file prot], the flags, the oracle's bitmaps (bit p: page p) and the
// files (bit i: index i).
template <class S> std::string describe(const S& s);

// The properties a state fails, as bits in the explorer's order (sim/explorer.cpp:failures).
enum failure_bit : unsigned {
  FAIL_INVARIANT = 1,
  FAIL_FALSE_NEGATIVE = 2,
  FAIL_LOST_NEW_MAPPING = 4,
  FAIL_FALSE_POSITIVE = 8,
  FAIL_WRITTEN_FALSE_NEGATIVE = 16,
};
// ... and their names (sim/explorer.hpp:state_failure::what), in that order.
inline constexpr std::pair<unsigned, std::string_view> failure_names[] = {
    {FAIL_INVARIANT, "invariant"},
    {FAIL_FALSE_NEGATIVE, "false negative"},
    {FAIL_LOST_NEW_MAPPING, "lost new mapping"},
    {FAIL_FALSE_POSITIVE, "false positive"},
    {FAIL_WRITTEN_FALSE_NEGATIVE, "PAGE_IS_WRITTEN false negative"},
};
unsigned failure_bits(const std::vector<state_failure>& f);

class rules {
 public:
  // Why the engine cannot run this search (nullopt: it can).
  static std::optional<std::string> unsupported(const policy& pol, const explore_options& opt,
                                                const std::vector<trace::Line>& alphabet);
  rules(const policy& pol, const explore_options& opt, const std::vector<trace::Line>& alphabet);

  // Does the alphabet map memory files (so that its states need `state`, not `anon_state`)?
  static bool maps_files(const std::vector<trace::Line>& alphabet);

  // Alphabet operation `op` on `s` (its result is not kept: the path is the trace). S is
  // `state`, or `anon_state` for an alphabet that maps no memory files.
  template <class S> void apply(S& s, std::size_t op) const;
  // The failure_bits `s` has: what sim/explorer.cpp:failures finds on the same state.
  template <class S> unsigned judge(const S& s) const;
  // The same state as the model holds it.
  template <class S> void to_model(const S& s, kernel& k, oracle& o) const;

 private:
  enum class kind : std::uint8_t {
    mmap_anon, mmap_shared, mmap_memfd, munmap, mprotect, madvise, write, read, clear_refs, fork, reclaim, mremap_move, mremap_resize,
    uffd_wp
  };
  struct op {
    kind k;
    std::uint8_t start, end;  // window pages
    std::uint8_t arg;         // trace::PROT_* (mmap, mprotect), trace::Advice (madvise), the
                              // destination page (mremap_move) or the new end (mremap_resize)
    std::int8_t pgoff = 0;    // mmap_memfd: the file index of `start` minus start
  };
  template <class S> friend struct vm;

  const policy& pol_;
  explore_options opt_;
  pfn_t base_;
  std::vector<op> ops_;
  // The policy's virtual functions take an mm_struct: this one, empty but for cleared_refs
  // (set to the value asked about), the only part the covered designs read.
  mutable mm_struct mm_;

  // The policy's answers, asked once per flag_bit value and per value of mm.cleared_refs (the
  // only part of mm_struct a covered design reads: precise's merge rule) rather than on every
  // transition; indexed [cleared][flags]. A VMA-level design decides from these alone
  // (--cross-check holds it to that).
  template <class T> using per_flags = std::array<std::array<T, flag_values>, 2>;
  // [cleared] bit (existing * flag_values + proposed)
  std::array<std::array<std::uint64_t, flag_values * flag_values / 64>, 2> mergeable_{};
  bool mergeable(bool cleared, unsigned existing, unsigned proposed) const {
    const unsigned i = existing * flag_values + proposed;
    return mergeable_[cleared][i / 64] >> (i % 64) & 1;
  }
  per_flags<std::uint8_t> proposed_{}, marked_{}, cleared_{};  // cleared_: as it was if clear_vma refuses
  // clear_changed_: clear_vma changed the VMA (clear_refs then recomputes vm_page_prot);
  // writenotify_: policy::vma_wants_sd_writenotify.
  per_flags<bool> tracking_{}, reports_dirty_{}, clear_changed_{}, writenotify_{};
  // A granular (non_sd_reg) design: tracking and bit 55 follow node coverage per page, and the
  // lists follow splits, merges, moves and clear_refs (vm::nsd_*); coalescing: whether the
  // design joins touching nodes of one list (granular-coalesce), as asked of the policy.
  bool granular_ = false, coalesce_ = false;
  // policy::merge_sets_page_prot: merges that start tracking a VMA recompute vm_page_prot.
  bool sets_prot_ = false;
  // policy::vma_wants_sd_writenotify for VMA v of s (granular: any node in the VMA).
  template <class S>
  bool wants_writenotify(const S& s, const typename S::vma_type& v) const {
    return granular_ ? (s.nsd_covered & page_mask(v.start, v.end)) != 0 : writenotify_[s.cleared][v.flags];
  }
  // mm.uffd_event_remap once a context exists: the explorer's uffd_wp never asks for
  // EVENT_REMAP, the uffd-wp design's consumer always does (kernel::uffd_ctx_create).
  bool event_remap_ = false;
  // The trace name of the memfd the alphabet maps (one at most), for to_model.
  std::string memfd_name_;
  // merged_flags, memoized as the search meets each combination: a direct-mapped cache small
  // enough for L1 (a search meets few combinations), key + 1 so that 0 is an empty slot.
  struct merged_memo {
    std::uint64_t key = 0;
    std::uint8_t flags = 0;
  };
  mutable std::array<merged_memo, 256> merged_{};
  std::uint8_t merged_flags(bool cleared, merge_path path, std::uint8_t flags,
                            const std::uint8_t* parts, std::size_t nparts) const;
};

}  // namespace sdmc::compact
