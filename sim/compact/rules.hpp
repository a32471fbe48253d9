// The explorer's compact engine (issue 3, "The model checker": "a compact fixed-size state for
// small windows, running the same rules as the model"): a state of at most 8 pages that is its
// own key (64 bytes, no encoding, no decoding, no allocation), and sim/'s rules restated on
// its arrays for the operations it covers, every design decision still asked of the policy
// object. The model (sim/) stays the authority: the explorer checks this engine against it
// transition by transition (`sdmc explore --engine compact --cross-check`, and the ctest
// compact_engine_test), and every state that fails a property is rebuilt as a model kernel and
// judged by the model (sim/explorer.hpp:state_failures) before it is reported.
//
// Covered: private anonymous memory (mmap_anon, munmap, mprotect to rw-, r-- and ---, mremap
// moving, growing and shrinking, madvise dontneed, pageout, random and normal, write, read,
// clear_refs, fork, uffd_wp, reclaim, with or without swap) under every design: those without
// per-page state beside the VMA (upstream-6.12, sticky, precise with its re-merge at
// clear_refs, uffd-wp with its consumer) and the granular non_sd_reg designs (granular,
// granular-coalesce: their lists as two bitmaps, the list rules of model/policies/granular.cpp
// restated on them), and the mutants of that ground (covered_mutants); no extra check.
// rules::unsupported names what is not covered; the explorer then refuses the engine rather
// than run something else.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/mm.hpp"
#include "model/policy.hpp"
#include "sim/explorer.hpp"
#include "sim/oracle.hpp"
#include "sim/state_codec.hpp"

namespace sdmc::compact {

inline constexpr unsigned max_pages = 8;

// The mutants of the catalogue whose bug lies on this ground.
inline constexpr mutant covered_mutants[] = {
    mutant::new_vma_not_soft_dirty,       mutant::pte_hole_ignores_vma,
    mutant::can_change_pte_writable_inverted, mutant::swap_loses_soft_dirty,
    mutant::mremap_move_not_soft_dirty,   mutant::scan_zapped_pte_not_written,
    mutant::gap_uses_next_vma_flag,       mutant::granular_split_drops_node,
};

// A PTE in one byte: what sim/'s rules can make of private anonymous memory (model/pte.hpp).
enum pte_bit : std::uint8_t {
  PTE_PRESENT = 1,  // pte_present; without PTE_ANON the shared zero page
  PTE_ANON = 2,     // an anonymous folio
  PTE_WRITE = 4,
  PTE_DIRTY = 8,
  PTE_SOFT_DIRTY = 16,
  PTE_EXCLUSIVE = 32,  // PageAnonExclusive (of the page, or of the swap entry)
  PTE_SWAP = 64,       // a swap entry (with PTE_SOFT_DIRTY: _PAGE_SWP_SOFT_DIRTY)
  PTE_UFFD_WP = 128,   // _PAGE_UFFD_WP / _PAGE_SWP_UFFD_WP; alone: a PTE_MARKER_UFFD_WP
};

// vm_flags in one byte: VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC are always set (mm/mmap.c:do_mmap).
enum flag_bit : std::uint8_t {
  F_READ = 1, F_WRITE = 2, F_ACCOUNT = 4, F_SOFTDIRTY = 8, F_RAND_READ = 16, F_UFFD_WP = 32
};
inline constexpr unsigned flag_values = 64;
vm_flags_t vm_flags_of(std::uint8_t bits);
std::uint8_t flag_bits_of(vm_flags_t flags);  // std::logic_error for a flag it cannot hold

struct cvma {
  std::uint8_t start = 0, end = 0;  // window pages
  std::uint8_t anon = 0;            // anon_vma: 0 none, else renamed by first appearance
  std::uint8_t flags = 0;           // flag_bit
  std::int8_t pgoff = 0;            // vm_pgoff - vm_start (pages): 0 until mremap moves it
  bool operator==(const cvma&) const = default;
};

// Unused slots stay zero, anon_vma ids are renamed after every operation: equal states are
// equal bytes.
struct state {
  std::array<std::uint8_t, max_pages> pte{};
  std::array<cvma, max_pages> vma{};
  std::uint8_t nvma = 0;
  std::uint8_t table = 0;    // the window's PTE table exists
  std::uint8_t cleared = 0;  // mm.cleared_refs
  std::uint8_t stored = 0;   // the oracle: pages stored to since clear_refs (bit p: page p)
  std::uint8_t fresh = 0;    // ... newly mapped since clear_refs
  std::uint8_t moved = 0;    // ... placed by mremap without being new at their source (a gap)
  std::uint8_t moved_pte = 0;  // ... moved with their PTE
  std::uint8_t uffd_ctx = 0;   // mm.uffd_ctx: a userfaultfd exists
  std::uint8_t wp_tracking = 0;  // the oracle: a write-protect reset has happened
  std::uint8_t stored_wp = 0;    // ... pages stored to since their write-protect reset
  std::uint8_t new_wp = 0;       // ... newly mapped since then
  // The granular designs' non_sd_reg lists (mm.non_sd_regs): the pages a node covers, and the
  // first page of each node. Nodes are disjoint and lie inside their VMA, so the two bitmaps
  // and the VMAs give back every list exactly (adjacent nodes stay two: a start between them).
  std::uint8_t nsd_covered = 0;
  std::uint8_t nsd_start = 0;
  std::uint8_t pad[3]{};
  // Byte equality (one 64-byte compare): equal states are equal bytes.
  bool operator==(const state& o) const { return std::memcmp(this, &o, sizeof o) == 0; }
};
static_assert(sizeof(state) == 64);

fingerprint128 fingerprint(const state& s);
// The state in one line, for error messages: PTE bytes (pte_bit), VMAs [start-end anon_vma
// flags(flag_bit) pgoff], the flags and the oracle's bitmaps (bit p: page p).
std::string describe(const state& s);

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

  // Alphabet operation `op` on `s` (its result is not kept: the path is the trace).
  void apply(state& s, std::size_t op) const;
  // The failure_bits `s` has: what sim/explorer.cpp:failures finds on the same state.
  unsigned judge(const state& s) const;
  // The same state as the model holds it.
  void to_model(const state& s, kernel& k, oracle& o) const;

 private:
  enum class kind : std::uint8_t {
    mmap_anon, munmap, mprotect, madvise, write, read, clear_refs, fork, reclaim, mremap_move, mremap_resize,
    uffd_wp
  };
  struct op {
    kind k;
    std::uint8_t start, end;  // window pages
    std::uint8_t arg;         // trace::PROT_* (mmap, mprotect), trace::Advice (madvise), the
                              // destination page (mremap_move) or the new end (mremap_resize)
  };
  friend struct vm;

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
  std::array<std::array<bool, flag_values * flag_values>, 2> mergeable_{};  // [existing * flag_values + proposed]
  per_flags<std::uint8_t> proposed_{}, marked_{}, cleared_{};  // cleared_: as it was if clear_vma refuses
  per_flags<bool> tracking_{}, reports_dirty_{};
  // A granular (non_sd_reg) design: tracking and bit 55 follow node coverage per page, and the
  // lists follow splits, merges, moves and clear_refs (vm::nsd_*); coalescing: whether the
  // design joins touching nodes of one list (granular-coalesce), as asked of the policy.
  bool granular_ = false, coalesce_ = false;
  // mm.uffd_event_remap once a context exists: the explorer's uffd_wp never asks for
  // EVENT_REMAP, the uffd-wp design's consumer always does (kernel::uffd_ctx_create).
  bool event_remap_ = false;
  // merged_flags, memoized as the search meets each combination: a direct-mapped cache small
  // enough for L1 (a search meets few combinations), key + 1 so that 0 is an empty slot.
  struct merged_memo {
    std::uint32_t key = 0;
    std::uint8_t flags = 0;
  };
  mutable std::array<merged_memo, 256> merged_{};
  std::uint8_t merged_flags(bool cleared, merge_path path, std::uint8_t flags,
                            const std::uint8_t* parts, std::size_t nparts) const;
};

}  // namespace sdmc::compact
