#include "model/mm.hpp"

#include <algorithm>
#include <iterator>

namespace sdmc {

namespace {
vma_ref icl_ref(const mm_struct::vma_map::value_type& seg) {
  return vma_ref{seg.first.lower(), seg.first.upper(), seg.second};
}
constexpr unsigned SPAN_SHIFT = PMD_SHIFT - PAGE_SHIFT;
}  // namespace

std::optional<vma_ref> mm_struct::find_vma(pfn_t pfn) const {
  if (flat_) {
    if (const auto* g = flat::find(fvmas_, pfn)) return to_ref(*g);
    return std::nullopt;
  }
  auto it = vmas_.find(pfn);
  if (it == vmas_.end()) return std::nullopt;
  return icl_ref(*it);
}

std::optional<vma_ref> mm_struct::find_vma_from(pfn_t pfn) const {
  if (flat_) {
    const std::size_t i = flat::lower(fvmas_, pfn);
    if (i == fvmas_.size()) return std::nullopt;
    return to_ref(fvmas_[i]);
  }
  auto it = vmas_.lower_bound(prange(pfn, pfn + 1));
  if (it == vmas_.end()) return std::nullopt;
  return icl_ref(*it);
}

std::optional<vma_ref> mm_struct::vma_prev(pfn_t pfn) const {
  if (flat_) {
    const std::size_t i = flat::lower(fvmas_, pfn);
    if (i == 0) return std::nullopt;
    return to_ref(fvmas_[i - 1]);
  }
  auto it = vmas_.lower_bound(prange(pfn, pfn + 1));
  if (it == vmas_.begin()) return std::nullopt;
  --it;
  return icl_ref(*it);
}

std::vector<vma_ref> mm_struct::vmas_in(pfn_t start, pfn_t end) const {
  std::vector<vma_ref> out;
  for_each_vma(start, end, [&](const vma_ref& v) { out.push_back(v); });
  return out;
}

std::vector<vma_ref> mm_struct::all_vmas() const {
  std::vector<vma_ref> out;
  out.reserve(map_count());
  for_each_vma([&](const vma_ref& v) { out.push_back(v); });
  return out;
}

bool mm_struct::intersects(pfn_t start, pfn_t end) const {
  if (start >= end) return false;
  if (flat_) {
    const std::size_t i = flat::lower(fvmas_, start);
    return i < fvmas_.size() && fvmas_[i].start < end;
  }
  auto [lo, hi] = vmas_.equal_range(prange(start, end));
  return lo != hi;
}

void mm_struct::set_vma(pfn_t start, pfn_t end, const vma_value& v) {
  if (flat_) {
    const std::size_t at = flat::erase(fvmas_, start, end);
    fvmas_.insert(fvmas_.begin() + std::ptrdiff_t(at), {start, end, v});  // never joined
    grown();
    return;
  }
  vmas_.erase(prange(start, end));
  vmas_.add(std::make_pair(prange(start, end), v));
}

void mm_struct::erase_vmas(pfn_t start, pfn_t end) {
  if (start >= end) return;
  if (flat_) {
    flat::erase(fvmas_, start, end);
    grown();  // a VMA cut in two
    return;
  }
  // Whole VMAs (the callers split first) go by iterator range; otherwise ICL trims.
  auto lo = vmas_.lower_bound(prange(start, start + 1));
  auto hi = lo;
  while (hi != vmas_.end() && hi->first.lower() < end) ++hi;
  if (lo == hi) return;
  auto last = std::prev(hi);
  if (lo->first.lower() >= start && last->first.upper() <= end) vmas_.erase(lo, hi);
  else vmas_.erase(prange(start, end));
}

void mm_struct::update_vma(pfn_t vm_start, const vma_value& v) {
  if (flat_) {
    if (auto* g = flat::find(fvmas_, vm_start)) g->v = v;
    return;
  }
  auto it = vmas_.find(vm_start);
  if (it == vmas_.end()) return;
  // split_interval_map never joins, so rewriting a value in place keeps the layout.
  const_cast<vma_value&>(it->second) = v;
}

pte_t mm_struct::pte_at(pfn_t pfn) const {
  if (flat_) {
    const auto* g = flat::find(fptes_, pfn);
    return g ? g->v : pte_t{};
  }
  auto it = ptes_.find(pfn);
  return it == ptes_.end() ? pte_t{} : it->second;
}

void mm_struct::set_ptes(pfn_t start, pfn_t end, const pte_t& pte) {
  if (start >= end) return;
  if (flat_) {
    // interval_map with partial_absorber: pte_none is never stored, equal neighbours join.
    const std::size_t at = flat::erase(fptes_, start, end);
    if (!pte.is_none()) flat::insert_joined(fptes_, at, start, end, pte);
    grown();
    return;
  }
  ptes_.erase(prange(start, end));
  if (!pte.is_none()) ptes_.add(std::make_pair(prange(start, end), pte));
}

void mm_struct::move_ptes(pfn_t src, pfn_t dst, pfn_t n) {
  const pte_runs_t runs = collect_ptes(src, src + n);
  clear_ptes(src, src + n);
  for (const pte_run& r : runs) set_ptes(r.s - src + dst, r.e - src + dst, r.p);
}

void mm_struct::alloc_tables(pfn_t start, pfn_t end) {
  if (start >= end) return;
  const std::uint64_t lo = start >> SPAN_SHIFT, hi = ((end - 1) >> SPAN_SHIFT) + 1;
  if (flat_) {
    add_spans(lo, hi);
    return;
  }
  tables_.add(boost::icl::interval<std::uint64_t>::right_open(lo, hi));
}

void mm_struct::free_tables(pfn_t start, pfn_t end) {
  if (start >= end) return;
  // mm/memory.c:free_pgtables frees the PTE tables of the unmapped range that no remaining
  // VMA (prev/next: floor and ceiling) still intersects. Only spans that have a table are
  // looked at, and each VMA lookup skips every span up to the next VMA.
  using span_iv = boost::icl::interval<std::uint64_t>;
  const std::uint64_t lo = start >> SPAN_SHIFT, hi = ((end - 1) >> SPAN_SHIFT) + 1;
  std::vector<span_iv::type> doomed;
  auto visit = [&](std::uint64_t run_lo, std::uint64_t run_hi) {  // a run of spans with tables
    const std::uint64_t last = std::min<std::uint64_t>(run_hi, hi);
    for (std::uint64_t span = std::max<std::uint64_t>(run_lo, lo); span < last;) {
      auto next = find_vma_from(span << SPAN_SHIFT);
      if (!next || next->vm_start >= (last << SPAN_SHIFT)) {
        doomed.push_back(span_iv::right_open(span, last));
        break;
      }
      std::uint64_t first_kept = next->vm_start >> SPAN_SHIFT;
      if (first_kept > span) doomed.push_back(span_iv::right_open(span, first_kept));
      span = ((next->vm_end - 1) >> SPAN_SHIFT) + 1;  // spans the VMA touches stay
    }
  };
  if (flat_) {
    for (std::size_t i = flat::lower(ftables_, lo); i < ftables_.size() && ftables_[i].start < hi; ++i)
      visit(ftables_[i].start, ftables_[i].end);
  } else {
    for (auto it = tables_.lower_bound(span_iv::right_open(lo, lo + 1));
         it != tables_.end() && it->lower() < hi; ++it)
      visit(it->lower(), it->upper());
  }
  for (const auto& d : doomed) {
    if (flat_) flat::erase(ftables_, d.lower(), d.upper());
    else tables_ -= d;
  }
}

void mm_struct::move_table(pfn_t src_span, pfn_t dst_span) {
  if (flat_) {
    flat::erase(ftables_, src_span, src_span + 1);
    add_spans(dst_span, dst_span + 1);
    return;
  }
  tables_.erase(src_span);
  tables_.add(dst_span);
}

void mm_struct::add_spans(std::uint64_t lo, std::uint64_t hi) {
  // interval_set joining: the new run absorbs every run it overlaps or touches.
  std::size_t i = flat::lower(ftables_, lo == 0 ? 0 : lo - 1);  // a run ending at lo touches
  std::size_t j = i;
  while (j < ftables_.size() && ftables_[j].start <= hi) {
    lo = std::min(lo, ftables_[j].start);
    hi = std::max(hi, ftables_[j].end);
    ++j;
  }
  ftables_.erase(ftables_.begin() + std::ptrdiff_t(i), ftables_.begin() + std::ptrdiff_t(j));
  ftables_.insert(ftables_.begin() + std::ptrdiff_t(i), {lo, hi, 0});
  grown();
}

void mm_struct::to_trees() {
  for (const auto& g : fvmas_) vmas_.insert(std::make_pair(prange(g.start, g.end), g.v));
  for (const auto& g : fptes_) ptes_.add(std::make_pair(prange(g.start, g.end), g.v));
  for (const auto& g : ftables_)
    tables_.add(boost::icl::interval<std::uint64_t>::right_open(g.start, g.end));
  fvmas_.clear();
  fptes_.clear();
  ftables_.clear();
  flat_ = false;
}

std::optional<file_id> mm_struct::find_file(const std::string& name) const {
  for (std::size_t i = 0; i < files.size(); ++i)
    if (!files[i].shared_anon && files[i].name == name) return file_id(i + 1);
  return std::nullopt;
}

}  // namespace sdmc
