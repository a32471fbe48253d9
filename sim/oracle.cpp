#include "sim/oracle.hpp"

namespace sdmc {

namespace {
void drop(judgement& j, const prange& r) {
  j.false_negatives -= r;
  j.lost_new_mappings -= r;
  j.false_positives -= r;
}
std::uint64_t pages(const pset& s) {
  std::uint64_t n = 0;
  for (const auto& iv : s) n += iv.upper() - iv.lower();
  return n;
}
// Count the pages of `now` not already counted in this interval, and remember them.
void count(const judgement& now, judgement& counted, oracle_counts& c) {
  c.false_negatives += pages(now.false_negatives - counted.false_negatives);
  c.lost_new_mappings += pages(now.lost_new_mappings - counted.lost_new_mappings);
  c.false_positives += pages(now.false_positives - counted.false_positives);
  counted.false_negatives += now.false_negatives;
  counted.lost_new_mappings += now.lost_new_mappings;
  counted.false_positives += now.false_positives;
}
constexpr pfn_t ALL = pfn_t(1) << (47 - PAGE_SHIFT);
}  // namespace

void oracle::stored(pfn_t pfn) {
  stored_since_clear += prange(pfn, pfn + 1);
  stored_since_wp += prange(pfn, pfn + 1);
}

void oracle::mapped_new(pfn_t start, pfn_t end) {
  new_since_clear += prange(start, end);
  new_since_wp += prange(start, end);
}

void oracle::unmapped(pfn_t start, pfn_t end) {
  const prange r(start, end);
  stored_since_clear -= r;
  new_since_clear -= r;
  stored_since_wp -= r;
  new_since_wp -= r;
  drop(counted_sd_, r);
  drop(counted_wr_, r);
}

void oracle::cleared_refs() {
  stored_since_clear.clear();
  new_since_clear.clear();
  counted_sd_ = judgement{};
}

void oracle::wp_reset(pfn_t start, pfn_t end) {
  const prange r(start, end);
  stored_since_wp -= r;
  new_since_wp -= r;
  drop(counted_wr_, r);
}

judgement oracle::judge_sd(const kernel& k) const {
  // Content that changed without a store through this address (another mapping of the same
  // memory file, a zap or drop to zero) is not a false negative: consumers treat
  // not-present and the zero page as zero.
  const pset mapped = k.mapped_pages(0, ALL);
  const pset sd = k.soft_dirty_pages(0, ALL);
  const pset data = k.present_pages(0, ALL, true) + k.swapped_pages(0, ALL, true);
  judgement j;
  j.false_negatives = (stored_since_clear & data) - sd;
  j.lost_new_mappings = (new_since_clear & mapped) - sd;
  j.false_positives = (sd & mapped) - (stored_since_clear + new_since_clear);
  return j;
}

judgement oracle::judge_written(const kernel& k) const {
  // Only uffd-wp registered VMAs carry write-protect tracking.
  pset tracked;
  for (const vma_ref& v : k.mm.all_vmas())
    if (v.v.vm_flags & VM_UFFD_WP) tracked += prange(v.vm_start, v.vm_end);
  pset written;
  for (const auto& iv : tracked) written += k.written_pages(iv.lower(), iv.upper());
  const pset data = k.present_pages(0, ALL, true) + k.swapped_pages(0, ALL, true);
  judgement j;
  j.false_negatives = ((stored_since_wp & data) & tracked) - written;
  j.lost_new_mappings = (new_since_wp & tracked) - written;
  j.false_positives = written - (stored_since_wp + new_since_wp);
  return j;
}

void oracle::observe(const kernel& k) {
  count(judge_sd(k), counted_sd_, sd);
  count(judge_written(k), counted_wr_, written);
}

}  // namespace sdmc
