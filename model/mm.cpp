#include "model/mm.hpp"

#include <algorithm>
#include <iterator>

namespace sdmc {

namespace {
vma_ref to_ref(const mm_struct::vma_map::value_type& seg) {
  return vma_ref{seg.first.lower(), seg.first.upper(), seg.second};
}
constexpr unsigned SPAN_SHIFT = PMD_SHIFT - PAGE_SHIFT;
}  // namespace

std::optional<vma_ref> mm_struct::find_vma(pfn_t pfn) const {
  auto it = vmas_.find(pfn);
  if (it == vmas_.end()) return std::nullopt;
  return to_ref(*it);
}

std::optional<vma_ref> mm_struct::find_vma_from(pfn_t pfn) const {
  auto it = vmas_.lower_bound(prange(pfn, pfn + 1));
  if (it == vmas_.end()) return std::nullopt;
  return to_ref(*it);
}

std::optional<vma_ref> mm_struct::vma_prev(pfn_t pfn) const {
  auto it = vmas_.lower_bound(prange(pfn, pfn + 1));
  if (it == vmas_.begin()) return std::nullopt;
  --it;
  return to_ref(*it);
}

std::vector<vma_ref> mm_struct::vmas_in(pfn_t start, pfn_t end) const {
  std::vector<vma_ref> out;
  if (start >= end) return out;
  auto [lo, hi] = vmas_.equal_range(prange(start, end));
  for (auto it = lo; it != hi; ++it) out.push_back(to_ref(*it));
  return out;
}

std::vector<vma_ref> mm_struct::all_vmas() const {
  std::vector<vma_ref> out;
  out.reserve(vmas_.iterative_size());
  for (const auto& seg : vmas_) out.push_back(to_ref(seg));
  return out;
}

bool mm_struct::intersects(pfn_t start, pfn_t end) const {
  if (start >= end) return false;
  auto [lo, hi] = vmas_.equal_range(prange(start, end));
  return lo != hi;
}

void mm_struct::set_vma(pfn_t start, pfn_t end, const vma_value& v) {
  vmas_.erase(prange(start, end));
  vmas_.add(std::make_pair(prange(start, end), v));
}

void mm_struct::erase_vmas(pfn_t start, pfn_t end) {
  if (start >= end) return;
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
  auto it = vmas_.find(vm_start);
  if (it == vmas_.end()) return;
  // split_interval_map never joins, so rewriting a value in place keeps the layout.
  const_cast<vma_value&>(it->second) = v;
}

pte_t mm_struct::pte_at(pfn_t pfn) const {
  auto it = ptes_.find(pfn);
  return it == ptes_.end() ? pte_t{} : it->second;
}

void mm_struct::set_ptes(pfn_t start, pfn_t end, const pte_t& pte) {
  if (start >= end) return;
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
  tables_.add(boost::icl::interval<std::uint64_t>::right_open(start >> SPAN_SHIFT,
                                                               ((end - 1) >> SPAN_SHIFT) + 1));
}

void mm_struct::free_tables(pfn_t start, pfn_t end) {
  if (start >= end) return;
  // mm/memory.c:free_pgtables frees the PTE tables of the unmapped range that no remaining
  // VMA (prev/next: floor and ceiling) still intersects. Only spans that have a table are
  // looked at, and each VMA lookup skips every span up to the next VMA.
  using span_iv = boost::icl::interval<std::uint64_t>;
  const std::uint64_t lo = start >> SPAN_SHIFT, hi = ((end - 1) >> SPAN_SHIFT) + 1;
  std::vector<span_iv::type> doomed;
  for (auto it = tables_.lower_bound(span_iv::right_open(lo, lo + 1));
       it != tables_.end() && it->lower() < hi; ++it) {
    const std::uint64_t last = std::min<std::uint64_t>(it->upper(), hi);
    for (std::uint64_t span = std::max<std::uint64_t>(it->lower(), lo); span < last;) {
      auto next = find_vma_from(span << SPAN_SHIFT);
      if (!next || next->vm_start >= (last << SPAN_SHIFT)) {
        doomed.push_back(span_iv::right_open(span, last));
        break;
      }
      std::uint64_t first_kept = next->vm_start >> SPAN_SHIFT;
      if (first_kept > span) doomed.push_back(span_iv::right_open(span, first_kept));
      span = ((next->vm_end - 1) >> SPAN_SHIFT) + 1;  // spans the VMA touches stay
    }
  }
  for (const auto& d : doomed) tables_ -= d;
}

void mm_struct::move_table(pfn_t src_span, pfn_t dst_span) {
  tables_.erase(src_span);
  tables_.add(dst_span);
}

std::optional<file_id> mm_struct::find_file(const std::string& name) const {
  for (std::size_t i = 0; i < files.size(); ++i)
    if (!files[i].shared_anon && files[i].name == name) return file_id(i + 1);
  return std::nullopt;
}

}  // namespace sdmc
