// What userspace reads: /proc/PID/pagemap (fs/proc/task_mmu.c:pte_to_pagemap_entry,
// pagemap_pte_hole) and PAGEMAP_SCAN (do_pagemap_scan and its walk callbacks).
#include "sim/kernel.hpp"

namespace sdmc {

bool kernel::scan_written(const vma_ref& vma, pfn_t pfn) const {
  // PAGE_IS_WRITTEN in this tree: a hole without a PTE table is written only in a uffd-wp VMA
  // (pagemap_scan_pte_hole, July 2026 backport); pte_none inside a table always is
  // (pagemap_page_category backport); present or swap entries unless uffd-wp protected.
  if (!mm.has_table(pfn)) return vma.v.vm_flags & VM_UFFD_WP;
  return !mm.pte_at(pfn).uffd_wp;
}

template <class F>
void kernel::for_each_written_run(const vma_ref& vma, pfn_t s0, pfn_t e0, F&& f) const {
  mm.for_each_table_run(s0, e0, [&](pfn_t s, pfn_t e, bool table) {
    if (!table) { f(s, e, bool(vma.v.vm_flags & VM_UFFD_WP)); return; }
    pfn_t at = s;
    mm.for_each_pte(s, e, [&](pfn_t ps, pfn_t pe, const pte_t& p) {
      if (at < ps) f(at, ps, true);  // pte_none inside a table
      f(ps, pe, !p.uffd_wp);
      at = pe;
    });
    if (at < e) f(at, e, true);
  });
}

pset kernel::written_pages(pfn_t start, pfn_t end) const {
  pset out;
  mm.for_each_vma(start, end, [&](const vma_ref& vma) {
    for_each_written_run(vma, std::max(start, vma.vm_start), std::min(end, vma.vm_end),
                         [&](pfn_t s, pfn_t e, bool w) { if (w) out += prange(s, e); });
  });
  return out;
}

pset kernel::present_pages(pfn_t start, pfn_t end, bool data_only) const {
  pset out;
  mm.for_each_pte(start, end, [&](pfn_t s, pfn_t e, const pte_t& p) {
    if (p.is_present() && !(data_only && p.page == pte_page::zero)) out += prange(s, e);
  });
  return out;
}

pset kernel::swapped_pages(pfn_t start, pfn_t end, bool real_swap_only) const {
  pset out;
  mm.for_each_pte(start, end, [&](pfn_t s, pfn_t e, const pte_t& p) {
    if (real_swap_only ? p.kind == pte_kind::swap : p.is_swap_pte()) out += prange(s, e);
  });
  return out;
}

pagemap_entry kernel::pagemap(pfn_t pfn) const {
  pagemap_entry e;
  auto vma = mm.find_vma(pfn);
  if (!vma) return e;  // outside any VMA: all 64 bits are 0
  const pte_t p = mm.pte_at(pfn);
  e.soft_dirty = pol_.vma_reports_dirty(mm, *vma, pfn) || (!p.is_none() && p.soft_dirty);
  e.written = scan_written(*vma, pfn);
  if (pol_.emulates_soft_dirty_with_uffd_wp()) e.soft_dirty = e.written;  // bit 55 := WRITTEN
  if (p.is_present()) {
    e.present = true;
    e.uffd_wp = p.uffd_wp;
    // vm_normal_page is NULL for the zero page: neither 61 nor 56.
    e.file = p.page == pte_page::file;
    if (p.page == pte_page::anon) e.exclusive = true;  // the only mapper: the child has exited
    if (p.page == pte_page::file) e.exclusive = file_mapcount(vma->v.file, vma->pgoff_at(pfn)) == 1;
  } else if (p.is_swap_pte()) {
    e.swapped = true;  // real swap entries and uffd-wp markers alike
    e.uffd_wp = p.uffd_wp;
  }
  return e;
}

pset kernel::soft_dirty_pages(pfn_t start, pfn_t end) const {
  if (pol_.emulates_soft_dirty_with_uffd_wp()) return written_pages(start, end);
  pset vmas, ptes;
  const prange window(start, end);
  auto at = vmas.end();
  mm.for_each_vma(start, end, [&](const vma_ref& vma) {
    if (pol_.has_page_granular_state()) vmas += pol_.vma_dirty_pages(mm, vma) & window;
    else if (pol_.vma_reports_dirty(mm, vma, vma.vm_start))
      at = vmas.add(at, prange(std::max(start, vma.vm_start), std::min(end, vma.vm_end)));
  });
  auto pat = ptes.end();
  mm.for_each_pte(start, end, [&](pfn_t s, pfn_t e, const pte_t& p) {
    if (p.soft_dirty) pat = ptes.add(pat, prange(s, e));
  });
  return vmas.empty() ? ptes : ptes.empty() ? vmas : vmas + ptes;
}

Result kernel::pagemap_scan(const trace::Scan& op) {
  // fs/proc/task_mmu.c:pagemap_scan_get_args
  if (offset_in_page(op.addr)) return err(EINVAL);
  std::uint64_t endb = op.addr + op.len;
  if (endb < op.addr || endb > TASK_SIZE) return err(EFAULT);  // access_ok
  endb = page_align(endb);
  const pfn_t start = addr_to_pfn(op.addr), end = addr_to_pfn(endb);
  const std::uint64_t vec_len = op.vec_len.value_or(end - start);
  const std::uint64_t max_pages = op.max_pages;

  // The walk: VMA by VMA in address order. pagemap_scan_test_walk: with
  // PM_SCAN_CHECK_WPASYNC a VMA not registered for async uffd-wp aborts with -EPERM (work
  // already done stays done).
  std::uint64_t regions = 0, found = 0;
  pfn_t cur_end = 0;
  bool have_region = false, stop = false;
  for (const vma_ref& vma0 : mm.vmas_in(start, end)) {
    if (stop) break;
    const vma_ref vma = *mm.find_vma(vma0.vm_start);
    if (op.wp && !(vma.v.vm_flags & VM_UFFD_WP)) {
      // What was re-protected before the abort stays re-protected: a reset of that part.
      if (obs && vma.vm_start > start) obs->wp_reset(start, vma.vm_start);
      if (obs && vma.vm_start > start && pol_.emulates_soft_dirty_with_uffd_wp())
        obs->sd_reset(start, vma.vm_start);
      return err(EPERM);
    }
    const pfn_t s0 = std::max(start, vma.vm_start), e0 = std::min(end, vma.vm_end);
    if (vec_len == 0) {
      // No output vector: output is a no-op; with WP the fast path protects every PTE in
      // existing tables that is not protected yet, and holes of the uffd-wp VMA (categorised
      // WRITTEN) get markers through uffd_wp_range.
      if (op.wp) uffd_wp_range(vma, s0, e0);
      continue;
    }
    // Runs of identical PAGE_IS_WRITTEN, in address order.
    struct run { pfn_t s, e; bool w; };
    std::vector<run> runs;
    for_each_written_run(vma, s0, e0, [&](pfn_t s, pfn_t e, bool w) { runs.push_back({s, e, w}); });
    for (const run& r : runs) {
      if (!r.w) continue;  // category_mask = PAGE_IS_WRITTEN
      // pagemap_scan_output / push_range: extend the last region when contiguous, else a new
      // region if the vector has room (else -ENOSPC ends the scan); max_pages truncates.
      if (!(have_region && cur_end == r.s)) {
        if (regions == vec_len) { stop = true; break; }
        ++regions;
        have_region = true;
      }
      pfn_t n = r.e - r.s;
      if (max_pages && found + n > max_pages) { n = max_pages - found; stop = true; }
      found += n;
      cur_end = r.s + n;
      if (op.wp) uffd_wp_range(vma, r.s, r.s + n);  // make_uffd_wp_pte / uffd_wp_range on holes
      if (stop || (max_pages && found == max_pages)) { stop = true; break; }
    }
  }
  if (op.wp && obs) obs->wp_reset(start, end);
  if (op.wp && obs && pol_.emulates_soft_dirty_with_uffd_wp()) obs->sd_reset(start, end);
  return ok(regions);
}

}  // namespace sdmc
