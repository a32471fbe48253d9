// struct mm_struct: the address space of the model.
//
// VMAs live in a Boost.ICL split_interval_map keyed by page number (never joined: adjacent
// VMAs stay distinct until a merge path of mm/vma.c joins them); PTEs in a joining interval_map
// (run-length encoded, pte_none is the absorbed identity); which 2 MiB spans have a PTE table in
// an interval_set. Every cost grows with the number of intervals, never with the number of pages.
//
// Small address spaces use a second store with the same semantics: sorted vectors of segments
// (model/flat_segments.hpp) until one of them grows past flat_limit(), then the trees above.
//
// This is the one shim layer between the operations (sim/) and storage: the operations never
// touch the containers directly, so both stores run the same rules.
#pragma once

#include <boost/container/small_vector.hpp>
#include <boost/icl/interval_map.hpp>
#include <boost/icl/split_interval_map.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "model/droppable.hpp"
#include "model/flat_segments.hpp"
#include "model/memfile.hpp"
#include "model/mutant.hpp"
#include "model/pte.hpp"
#include "model/types.hpp"
#include "model/vma.hpp"

namespace sdmc {

namespace icl = boost::icl;

class mm_struct {
 public:
  using vma_map = icl::split_interval_map<pfn_t, vma_value, icl::partial_enricher, std::less,
                                          icl::inplace_plus, icl::inter_section, prange,
                                          pool_allocator>;
  using pte_map = icl::interval_map<pfn_t, pte_t, icl::partial_absorber, std::less,
                                    icl::inplace_plus, icl::inter_section, prange, pool_allocator>;

  // Up to this many VMAs, PTE runs and page-table runs each, the store is a sorted vector
  // (model/flat_segments.hpp); past it, the ICL trees. 0: the trees from the start (tests run
  // both stores). Per thread, read when an mm_struct is constructed.
  static std::size_t& flat_limit() {
    thread_local std::size_t limit = 256;
    return limit;
  }
  mm_struct() : limit_(flat_limit()), flat_(limit_ > 0) {}
  bool flat_store() const { return flat_; }

  // --- VMAs -------------------------------------------------------------------------------
  std::optional<vma_ref> find_vma(pfn_t pfn) const;          // the VMA containing pfn
  std::optional<vma_ref> find_vma_from(pfn_t pfn) const;     // first VMA with vm_end > pfn
  std::optional<vma_ref> vma_prev(pfn_t pfn) const;          // last VMA with vm_end <= pfn
  // For a free page `pfn`: the last VMA below it and the first above it, with one lookup.
  std::pair<std::optional<vma_ref>, std::optional<vma_ref>> neighbours(pfn_t pfn) const {
    std::optional<vma_ref> prev, next;
    if (flat_) {
      const std::size_t i = flat::lower(fvmas_, pfn);
      if (i < fvmas_.size()) next = to_ref(fvmas_[i]);
      if (i > 0) prev = to_ref(fvmas_[i - 1]);
      return {prev, next};
    }
    auto it = vmas_.lower_bound(prange(pfn, pfn + 1));
    if (it != vmas_.end()) next = vma_ref{it->first.lower(), it->first.upper(), it->second};
    if (it != vmas_.begin()) {
      --it;
      prev = vma_ref{it->first.lower(), it->first.upper(), it->second};
    }
    return {prev, next};
  }
  std::vector<vma_ref> vmas_in(pfn_t start, pfn_t end) const;  // VMAs intersecting [start,end)
  std::vector<vma_ref> all_vmas() const;
  // Calls f(const vma_ref&) for each VMA intersecting [start,end), in address order, without
  // allocating.
  template <class F>
  void for_each_vma(pfn_t start, pfn_t end, F&& f) const {
    if (start >= end) return;
    if (flat_) {
      for (std::size_t i = flat::lower(fvmas_, start); i < fvmas_.size() && fvmas_[i].start < end; ++i)
        f(to_ref(fvmas_[i]));
      return;
    }
    auto [lo, hi] = vmas_.equal_range(prange(start, end));
    for (auto it = lo; it != hi; ++it) f(vma_ref{it->first.lower(), it->first.upper(), it->second});
  }
  // Every VMA, in address order.
  template <class F>
  void for_each_vma(F&& f) const {
    if (flat_) {
      for (const auto& g : fvmas_) f(to_ref(g));
      return;
    }
    for (const auto& seg : vmas_) f(vma_ref{seg.first.lower(), seg.first.upper(), seg.second});
  }
  // Calls g(vm_start, vm_end, vma_value&) for every VMA, to rewrite values in place.
  template <class G>
  void update_each_vma(G&& g) {
    if (flat_) {
      for (auto& seg : fvmas_) g(seg.start, seg.end, seg.v);
      return;
    }
    for (auto& seg : vmas_) g(seg.first.lower(), seg.first.upper(), const_cast<vma_value&>(seg.second));
  }
  // Rewrites every PTE in place with g(pte_t&) (never to pte_none), then re-joins equal
  // neighbours.
  template <class G>
  void update_all_ptes(G&& g) {
    if (flat_) {
      for (auto& seg : fptes_) g(seg.v);
      flat::join(fptes_);
      return;
    }
    for (auto& seg : ptes_) g(const_cast<pte_t&>(seg.second));
    boost::icl::join(ptes_);
  }
  bool intersects(pfn_t start, pfn_t end) const;
  std::size_t map_count() const { return flat_ ? fvmas_.size() : vmas_.iterative_size(); }
  // Replace whatever is in [start,end) by one VMA with value v.
  void set_vma(pfn_t start, pfn_t end, const vma_value& v);
  void erase_vmas(pfn_t start, pfn_t end);
  // mm/vma.c:__split_vma: split the VMA containing `at` so that a VMA starts at `at`. The value
  // is copied (vm_area_dup); the new half gets a fresh vma_id; hook(lo, hi) may adjust both
  // values (lo = [vm_start, at), hi = [at, vm_end)) before they are stored. Returns false if
  // nothing was split.
  template <class Hook>
  bool split_vma(pfn_t at, bool new_below, Hook&& hook) {
    if (flat_) {
      const std::size_t i = flat::lower(fvmas_, at);
      if (i == fvmas_.size() || fvmas_[i].start >= at) return false;
      auto [lo, hi] = halves(fvmas_[i].start, fvmas_[i].end, fvmas_[i].v, at, new_below, hook);
      fvmas_[i] = {lo.vm_start, lo.vm_end, lo.v};
      fvmas_.insert(fvmas_.begin() + std::ptrdiff_t(i) + 1, {hi.vm_start, hi.vm_end, hi.v});
      grown();
      return true;
    }
    auto it = vmas_.lower_bound(prange(at, at + 1));  // the segment containing `at`, if any
    if (it == vmas_.end() || it->first.lower() >= at) return false;
    auto [lo, hi] = halves(it->first.lower(), it->first.upper(), it->second, at, new_below, hook);
    // Shrink the existing segment in place (its order among the keys is unchanged) and insert
    // the upper part right after it: one lookup and one hinted insertion.
    const_cast<prange&>(it->first) = prange(lo.vm_start, lo.vm_end);
    const_cast<vma_value&>(it->second) = std::move(lo.v);
    vmas_.insert(it, std::make_pair(prange(hi.vm_start, hi.vm_end), std::move(hi.v)));
    return true;
  }
  bool split_vma(pfn_t at, bool new_below) {
    return split_vma(at, new_below, [](vma_ref&, vma_ref&) {});
  }
  // Store a VMA into a range known to be free (no erase needed).
  void insert_vma(pfn_t start, pfn_t end, const vma_value& v) {
    if (flat_) {
      fvmas_.insert(fvmas_.begin() + std::ptrdiff_t(flat::lower(fvmas_, start)), {start, end, v});
      grown();
      return;
    }
    vmas_.insert(std::make_pair(prange(start, end), v));
  }
  // Rewrite the value of the VMA that starts at vm_start.
  void update_vma(pfn_t vm_start, const vma_value& v);
  // The VMA containing pfn, with its value writable in place (split_interval_map never joins,
  // so a rewritten value keeps the layout); nullopt if none.
  struct vma_mut { pfn_t vm_start, vm_end; vma_value* v; };
  std::optional<vma_mut> find_vma_mut(pfn_t pfn) {
    if (flat_) {
      auto* g = flat::find(fvmas_, pfn);
      if (!g) return std::nullopt;
      return vma_mut{g->start, g->end, &g->v};
    }
    auto it = vmas_.lower_bound(prange(pfn, pfn + 1));
    if (it == vmas_.end() || it->first.lower() > pfn) return std::nullopt;
    return vma_mut{it->first.lower(), it->first.upper(), const_cast<vma_value*>(&it->second)};
  }
  std::uint32_t new_vma_id() { return ++last_vma_id_; }
  anon_vma_id new_anon_vma() { return ++last_anon_vma_; }

  // --- PTEs -------------------------------------------------------------------------------
  pte_t pte_at(pfn_t pfn) const;
  void set_ptes(pfn_t start, pfn_t end, const pte_t& pte);
  void clear_ptes(pfn_t start, pfn_t end) { set_ptes(start, end, pte_t{}); }
  // Calls f(start, end, pte) for each run of identical non-none PTEs inside [start,end)
  // (maximal runs: equal neighbours are always joined).
  template <class F>
  void for_each_pte(pfn_t start, pfn_t end, F&& f) const {
    if (flat_) {
      for (std::size_t i = flat::lower(fptes_, start); i < fptes_.size() && fptes_[i].start < end; ++i) {
        pfn_t s = std::max(start, fptes_[i].start), e = std::min(end, fptes_[i].end);
        if (s < e) f(s, e, fptes_[i].v);
      }
      return;
    }
    auto [lo, hi] = ptes_.equal_range(prange(start, end));
    for (auto it = lo; it != hi; ++it) {
      pfn_t s = std::max(start, it->first.lower()), e = std::min(end, it->first.upper());
      if (s < e) f(s, e, it->second);
    }
  }
  // Every run of identical non-none PTEs, in address order.
  template <class F>
  void for_each_pte(F&& f) const {
    if (flat_) {
      for (const auto& g : fptes_) f(g.start, g.end, g.v);
      return;
    }
    for (const auto& seg : ptes_) f(seg.first.lower(), seg.first.upper(), seg.second);
  }
  // Like for_each_pte, but also calls f for the pte_none gaps.
  template <class F>
  void for_each_pte_or_none(pfn_t start, pfn_t end, F&& f) const {
    pfn_t at = start;
    for_each_pte(start, end, [&](pfn_t s, pfn_t e, const pte_t& p) {
      if (at < s) f(at, s, pte_t{});
      f(s, e, p);
      at = e;
    });
    if (at < end) f(at, end, pte_t{});
  }
  // A copy of the PTE runs of [start,end) (pte_none gaps too with `with_none`), for callers
  // that rewrite the container while going through them. Small ranges need no allocation.
  struct pte_run { pfn_t s, e; pte_t p; };
  using pte_runs_t = boost::container::small_vector<pte_run, 8>;
  pte_runs_t collect_ptes(pfn_t start, pfn_t end, bool with_none = false) const {
    pte_runs_t runs;
    auto add = [&](pfn_t s, pfn_t e, const pte_t& p) { runs.push_back({s, e, p}); };
    if (with_none) for_each_pte_or_none(start, end, add);
    else for_each_pte(start, end, add);
    return runs;
  }
  // Rewrites each non-none run in [start,end) with g(pte) (which may return pte_none).
  template <class G>
  void update_ptes(pfn_t start, pfn_t end, G&& g) {
    for (const pte_run& r : collect_ptes(start, end)) {
      pte_t n = g(r.p);
      if (!(n == r.p)) set_ptes(r.s, r.e, n);
    }
  }
  // Move the PTEs of [src, src+n) to [dst, dst+n), leaving pte_none behind.
  void move_ptes(pfn_t src, pfn_t dst, pfn_t n);

  // --- page tables (2 MiB spans with an allocated PTE table) ------------------------------
  bool has_table(pfn_t pfn) const {
    const std::uint64_t span = pfn >> (PMD_SHIFT - PAGE_SHIFT);
    return flat_ ? flat::find(ftables_, span) != nullptr : icl::contains(tables_, span);
  }
  void alloc_tables(pfn_t start, pfn_t end);  // every span touching [start,end)
  void free_tables(pfn_t start, pfn_t end);   // spans touching [start,end) that no VMA touches
  void move_table(pfn_t src_span, pfn_t dst_span);
  // Calls f(start, end, has_table) for the runs of [start,end) with and without a PTE table.
  template <class F>
  void for_each_table_run(pfn_t start, pfn_t end, F&& f) const {
    constexpr unsigned sh = PMD_SHIFT - PAGE_SHIFT;
    pfn_t at = start;
    auto visit = [&](std::uint64_t lo, std::uint64_t hi) {  // one run of spans with tables
      pfn_t ts = std::max<pfn_t>(lo << sh, at), te = std::min<pfn_t>(hi << sh, end);
      if (ts >= end) return false;
      if (at < ts) f(at, ts, false);
      if (ts < te) f(ts, te, true);
      at = std::max(at, te);
      return at < end;
    };
    if (flat_) {
      for (std::size_t i = flat::lower(ftables_, start >> sh); i < ftables_.size(); ++i)
        if (!visit(ftables_[i].start, ftables_[i].end)) break;
    } else {
      auto lo = tables_.lower_bound(boost::icl::interval<std::uint64_t>::right_open(start >> sh, (start >> sh) + 1));
      for (auto it = lo; it != tables_.end(); ++it)
        if (!visit(it->lower(), it->upper())) break;
    }
    if (at < end) f(at, end, false);
  }

  // --- memory files -----------------------------------------------------------------------
  // file_id i is files[i-1]. Inline for the first two: the explorer copies an mm_struct per
  // transition, and its windows hold at most a few files.
  using memfiles = boost::container::small_vector<memfile, 2>;
  memfiles files;
  memfile& file(file_id f) { return files.at(f - 1); }
  const memfile& file(file_id f) const { return files.at(f - 1); }
  file_id add_file(memfile f) { files.push_back(std::move(f)); return file_id(files.size()); }
  std::optional<file_id> find_file(const std::string& name) const;

  // --- the rest of mm_struct the model needs ----------------------------------------------
  std::optional<std::uint64_t> start_brk, brk;  // bytes; unset until the first brk
  bool uffd_ctx = false;                        // the trace's userfaultfd context exists
  bool uffd_event_remap = false;                // ... with UFFD_FEATURE_EVENT_REMAP
  bool has_swap = false;                        // a swap device is configured (`swap on`)
  bool cleared_refs = false;                    // clear_refs has run at least once (precise)
  mutant bug = mutant::none;                    // a historical bug switched back in (model/mutant.hpp)
  droppable_design droppable = droppable_design::swapbacked;  // model/droppable.hpp
  // Per-VMA lists of clean sub-ranges of the granular (non_sd_reg) design, keyed by vma_id;
  // maintained by that policy's hooks, empty for the others.
  std::map<std::uint32_t, std::vector<non_sd_reg>> non_sd_regs;

 private:
  static vma_ref to_ref(const flat::seg<vma_value>& g) { return vma_ref{g.start, g.end, g.v}; }
  // split_vma's two halves of [vm_start, vm_end) at `at`, whichever store holds the VMA: the
  // value copied to both (vm_area_dup), a fresh vma_id for the new one, then the hook.
  template <class Hook>
  std::pair<vma_ref, vma_ref> halves(pfn_t vm_start, pfn_t vm_end, const vma_value& v, pfn_t at,
                                     bool new_below, Hook& hook) {
    vma_ref lo{vm_start, at, v}, hi{at, vm_end, v};
    (new_below ? lo : hi).v.vma_id = new_vma_id();
    hook(lo, hi);
    return {lo, hi};
  }
  // After a flat vector grew: past flat_limit, everything moves to the trees.
  void grown() {
    if (fvmas_.size() > limit_ || fptes_.size() > limit_ || ftables_.size() > limit_) to_trees();
  }
  void to_trees();
  void add_spans(std::uint64_t lo, std::uint64_t hi);  // flat tables_: add, joined

  // The one store in use: the flat vectors while flat_, the ICL trees after.
  std::size_t limit_;  // flat_limit() when constructed
  bool flat_;
  flat::segments<vma_value, 6> fvmas_;
  flat::segments<pte_t, 6> fptes_;
  flat::segments<char, 2> ftables_;  // PMD indices (pfn >> 9); the value is unused
  vma_map vmas_;
  pte_map ptes_;
  boost::icl::interval_set<std::uint64_t> tables_;  // PMD indices (pfn >> 9)
  std::uint32_t last_vma_id_ = 0;
  anon_vma_id last_anon_vma_ = 0;
};

}  // namespace sdmc
