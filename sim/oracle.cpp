#include "sim/oracle.hpp"

#include <array>
#include <vector>

namespace sdmc {

namespace {
constexpr pfn_t ALL = pfn_t(1) << (47 - PAGE_SHIFT);

using ivec = std::vector<prange>;  // sorted, disjoint intervals

ivec to_vec(const pset& s) { return ivec(s.begin(), s.end()); }

void remove(pset& s, const prange& r) {
  if (!s.empty()) s -= r;
}
void drop(judgement& j, const prange& r) {
  remove(j.kernel_gaps, r);
  remove(j.false_negatives, r);
  remove(j.lost_new_mappings, r);
  remove(j.false_positives, r);
}

// The lists a judgement sweeps over, in this order.
enum list : unsigned {
  STORED, NEW, BIT_VMA, BIT_PTE, DATA, TRACKED, C_FN, C_LOST, C_FP,
  GAP_MOVED, GAP_ZAPPED, C_GAP, MOVED_PTE,  // the kernel-mandated exceptions (oracle.hpp) and those counted
  NLISTS
};

// Sweeps the elementary segments of the union of the lists' boundaries and classifies each:
// a k-way merge, so the cost follows the number of intervals.
struct sweep_result {
  oracle_counts counts;
  judgement pages;
};
sweep_result sweep(const std::array<ivec, NLISTS>& lists, bool need_tracked, bool materialize) {
  sweep_result out;
  std::array<std::size_t, NLISTS> idx{};
  // Only non-empty lists take part.
  std::array<unsigned, NLISTS> active{};
  unsigned nactive = 0;
  for (unsigned l = 0; l < NLISTS; ++l)
    if (!lists[l].empty()) active[nactive++] = l;
  pfn_t at = 0;
  auto fn_at = out.pages.false_negatives.end(), lost_at = out.pages.lost_new_mappings.end(),
       fp_at = out.pages.false_positives.end(), gap_at = out.pages.kernel_gaps.end();
  auto gap = [&](pfn_t n, const prange& seg, unsigned in) {
    if (in & 1u << C_GAP) return;
    out.counts.kernel_gaps += n;
    if (materialize) gap_at = out.pages.kernel_gaps.add(gap_at, seg);
  };
  for (;;) {
    // The next boundary after `at`, and membership of [at, next).
    pfn_t next = ALL;
    unsigned in = 0;
    bool any = false;
    for (unsigned a = 0; a < nactive; ++a) {
      const unsigned l = active[a];
      const ivec& v = lists[l];
      std::size_t& i = idx[l];
      while (i < v.size() && v[i].upper() <= at) ++i;
      if (i == v.size()) continue;
      any = true;
      if (v[i].lower() <= at) {
        in |= 1u << l;
        next = std::min(next, v[i].upper());
      } else {
        next = std::min(next, v[i].lower());
      }
    }
    if (!any) break;
    if (in) {
      const bool bit = in & (1u << BIT_VMA | 1u << BIT_PTE);
      const bool stored = in & 1u << STORED, fresh = in & 1u << NEW;
      const bool tracked = !need_tracked || (in & 1u << TRACKED);
      const pfn_t n = next - at;
      const prange seg(at, next);
      if (tracked && stored && (in & 1u << DATA) && !bit && (in & 1u << GAP_ZAPPED)) {
        gap(n, seg, in);
      } else if (tracked && stored && (in & 1u << DATA) && !bit && !(in & 1u << C_FN)) {
        out.counts.false_negatives += n;
        if (materialize) fn_at = out.pages.false_negatives.add(fn_at, seg);
      }
      // Not a page that came with its PTE and still holds that data: it must read soft-dirty.
      const bool moved_data = (in & 1u << MOVED_PTE) && (in & 1u << DATA);
      if (tracked && fresh && !bit && (in & 1u << GAP_MOVED) && !moved_data) {
        gap(n, seg, in);
      } else if (tracked && fresh && !bit && !(in & 1u << C_LOST)) {
        out.counts.lost_new_mappings += n;
        if (materialize) lost_at = out.pages.lost_new_mappings.add(lost_at, seg);
      }
      if (tracked && bit && !stored && !fresh && !(in & 1u << C_FP)) {
        out.counts.false_positives += n;
        if (materialize) fp_at = out.pages.false_positives.add(fp_at, seg);
      }
    }
    at = next;
  }
  return out;
}

// What the kernel reports, as sorted interval lists: the policy's VMA-level bit, the PTE bits,
// and the pages holding data (present and not the zero page, or swapped). Stored and new
// pages are always mapped (unmapped() forgets them), so "mapped" needs no list of its own.
void sd_lists(const kernel& k, std::array<ivec, NLISTS>& l) {
  const policy& pol = k.pol();
  const bool uffd = pol.emulates_soft_dirty_with_uffd_wp();
  if (uffd) {
    // The uffd-wp design: bit 55 reads as PAGE_IS_WRITTEN.
    k.mm.for_each_vma(0, ALL, [&](const vma_ref& v) {
      for (const auto& iv : k.written_pages(v.vm_start, v.vm_end)) l[BIT_PTE].push_back(iv);
    });
  } else {
    // The VMA-level bit comes from the kernel's pagemap code, so that a pagemap mutant
    // (model/mutant.hpp) is judged as the kernel would report it.
    for (const auto& iv : k.vma_soft_dirty_pages(0, ALL)) l[BIT_VMA].push_back(iv);
  }
  const bool pte_bits = !uffd;
  k.mm.for_each_pte(0, ALL, [&](pfn_t b, pfn_t e, const pte_t& p) {
    if (pte_bits && p.soft_dirty) l[BIT_PTE].push_back(prange(b, e));
    if ((p.is_present() && p.page != pte_page::zero) || p.kind == pte_kind::swap)
      l[DATA].push_back(prange(b, e));
  });
}

// Adjacent runs from the PTE walk may touch; the sweep needs disjoint lists, which runs of
// different PTE values already are (they never overlap).
}  // namespace

void oracle::stored(pfn_t start, pfn_t end) {
  stored_since_clear += prange(start, end);
  remove(zapped_since_clear, prange(start, end));  // the store faulted: tracking is back
  if (wp_tracking_) stored_since_wp += prange(start, end);
}

void oracle::mapped_new(pfn_t start, pfn_t end) {
  new_since_clear += prange(start, end);
  if (wp_tracking_) new_since_wp += prange(start, end);
}

void oracle::moved(pfn_t src, pfn_t src_pages, pfn_t dst, pfn_t dst_pages) {
  const std::int64_t delta = std::int64_t(dst) - std::int64_t(src);
  auto carried = [&](const pset& s) {
    pset out;
    for (const auto& iv : s & prange(src, src + src_pages))
      out += prange(pfn_t(std::int64_t(iv.lower()) + delta), pfn_t(std::int64_t(iv.upper()) + delta));
    return out;
  };
  // Every moved page is new at its new address (a present one is soft-dirty there: mm/mremap.c:
  // move_soft_dirty_pte), but only one that was new at its source (and not just gap-new) may
  // be a lost new mapping; stores and zaps travel with the page.
  const pset was_new = carried(new_since_clear - moved_since_clear);
  const pset was_stored = carried(stored_since_clear), was_zapped = carried(zapped_since_clear);
  pset gap;
  gap += prange(dst, dst + dst_pages);
  gap -= was_new;
  mapped_new(dst, dst + dst_pages);
  stored_since_clear += was_stored;
  zapped_since_clear += was_zapped;
  moved_since_clear += gap;
}

void oracle::moved_with_pte(pfn_t start, pfn_t end) { moved_pte_since_clear += prange(start, end); }

void oracle::grown_in_place(pfn_t start, pfn_t end) {
  mapped_new(start, end);
  moved_since_clear += prange(start, end);
}

void oracle::zapped_kept(pfn_t start, pfn_t end) {
  zapped_since_clear += prange(start, end);
  remove(moved_pte_since_clear, prange(start, end));  // what comes back is not what moved
}

void oracle::unmapped(pfn_t start, pfn_t end) {
  // Addresses leaving the address space take their whole history with them.
  sd_reset(start, end);
  const prange r(start, end);
  remove(stored_since_wp, r);
  remove(new_since_wp, r);
  drop(counted_wr_, r);
}

void oracle::cleared_refs() {
  stored_since_clear.clear();
  new_since_clear.clear();
  moved_since_clear.clear();
  zapped_since_clear.clear();
  moved_pte_since_clear.clear();
  counted_sd_ = judgement{};
}

void oracle::sd_reset(pfn_t start, pfn_t end) {
  const prange r(start, end);
  remove(stored_since_clear, r);
  remove(new_since_clear, r);
  remove(moved_since_clear, r);
  remove(zapped_since_clear, r);
  remove(moved_pte_since_clear, r);
  drop(counted_sd_, r);
}

void oracle::wp_reset(pfn_t start, pfn_t end) {
  const prange r(start, end);
  wp_tracking_ = true;
  remove(stored_since_wp, r);
  remove(new_since_wp, r);
  drop(counted_wr_, r);
}

// The soft-dirty judgement: one sweep over the kernel's report, the ghost sets and, when given,
// the pages already counted since the last clear_refs (which are then not counted again).
namespace {
sweep_result sweep_sd(const kernel& k, const pset& stored, const pset& fresh, const pset& moved,
                      const pset& moved_pte, const pset& zapped, const judgement* counted,
                      bool materialize) {
  // Scratch lists keep their capacity from one observation to the next.
  thread_local std::array<ivec, NLISTS> l;
  for (ivec& v : l) v.clear();
  l[STORED].assign(stored.begin(), stored.end());
  l[NEW].assign(fresh.begin(), fresh.end());
  l[GAP_MOVED].assign(moved.begin(), moved.end());
  l[MOVED_PTE].assign(moved_pte.begin(), moved_pte.end());
  l[GAP_ZAPPED].assign(zapped.begin(), zapped.end());
  sd_lists(k, l);
  if (counted) {
    l[C_FN].assign(counted->false_negatives.begin(), counted->false_negatives.end());
    l[C_LOST].assign(counted->lost_new_mappings.begin(), counted->lost_new_mappings.end());
    l[C_FP].assign(counted->false_positives.begin(), counted->false_positives.end());
    l[C_GAP].assign(counted->kernel_gaps.begin(), counted->kernel_gaps.end());
  }
  return sweep(l, false, materialize);
}
}  // namespace

judgement oracle::judge_sd(const kernel& k) const {
  // Content that changed without a store through this address (another mapping of the same
  // memory file, a zap or drop to zero) is not a false negative: consumers treat
  // not-present and the zero page as zero.
  return sweep_sd(k, stored_since_clear, new_since_clear, moved_since_clear, moved_pte_since_clear,
                  zapped_since_clear,
                  nullptr, true)
      .pages;
}

judgement oracle::judge_written(const kernel& k) const {
  // Only uffd-wp registered VMAs carry write-protect tracking.
  if (!wp_tracking_) return {};
  std::array<ivec, NLISTS> l;
  l[STORED] = to_vec(stored_since_wp);
  l[NEW] = to_vec(new_since_wp);
  k.mm.for_each_vma(0, ALL, [&](const vma_ref& v) {
    if (!(v.v.vm_flags & VM_UFFD_WP)) return;
    l[TRACKED].push_back(prange(v.vm_start, v.vm_end));
    for (const auto& iv : k.written_pages(v.vm_start, v.vm_end)) l[BIT_PTE].push_back(iv);
  });
  // A consumer of PAGE_IS_WRITTEN reads that bit alone (no PM_PRESENT beside it), and the
  // async mode documents a zap as a change ("MADV_DONTNEED on anonymous memory ... is treated
  // as dirtying of memory by dropping uffd-wp bit", Documentation/admin-guide/mm/userfaultfd.rst):
  // a page stored to since the reset must read written even when it holds no data any more.
  // Those are the pages 07b4377bdbe7 (pte_none inside a table) and 40de8160ca7f (PMD holes)
  // fixed, both "data corruption" for a checkpointing consumer. So every tracked page counts
  // as data here, unlike the soft-dirty judgement whose consumers also read PM_PRESENT.
  l[DATA] = l[TRACKED];
  return sweep(l, true, true).pages;
}

void oracle::observe(const kernel& k, bool reset_follows) {
  {
    sweep_result r =
        sweep_sd(k, stored_since_clear, new_since_clear, moved_since_clear, moved_pte_since_clear,
                  zapped_since_clear,
                 &counted_sd_, !reset_follows);
    sd += r.counts;
    if (!reset_follows) {
      counted_sd_.false_negatives += r.pages.false_negatives;
      counted_sd_.lost_new_mappings += r.pages.lost_new_mappings;
      counted_sd_.false_positives += r.pages.false_positives;
      counted_sd_.kernel_gaps += r.pages.kernel_gaps;
    }
  }
  if (wp_tracking_) {
    judgement now = judge_written(k);
    judgement fresh{now.false_negatives - counted_wr_.false_negatives,
                    now.lost_new_mappings - counted_wr_.lost_new_mappings,
                    now.false_positives - counted_wr_.false_positives};
    auto pages = [](const pset& s) {
      std::uint64_t n = 0;
      for (const auto& iv : s) n += iv.upper() - iv.lower();
      return n;
    };
    written.false_negatives += pages(fresh.false_negatives);
    written.lost_new_mappings += pages(fresh.lost_new_mappings);
    written.false_positives += pages(fresh.false_positives);
    counted_wr_.false_negatives += now.false_negatives;
    counted_wr_.lost_new_mappings += now.lost_new_mappings;
    counted_wr_.false_positives += now.false_positives;
  }
}

}  // namespace sdmc
