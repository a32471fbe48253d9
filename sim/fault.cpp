// Loads, stores and the fault paths they take: arch/x86/mm/fault.c and mm/memory.c.
#include "sim/kernel.hpp"

namespace sdmc {

bool kernel::needs_sd_wp(const vma_ref& vma, pfn_t pfn, const pte_t& pte) const {
  // mm/internal.h:pte_needs_soft_dirty_wp
  return pol_.tracking_enabled(mm, vma, pfn) && !pte.soft_dirty;
}

anon_vma_id kernel::anon_vma_prepare(pfn_t vm_start) {
  // mm/rmap.c:__anon_vma_prepare -> mm/vma.c:find_mergeable_anon_vma: reuse the anon_vma of an
  // adjacent VMA that anon_vma_compatible() accepts (it ignores the access bits and
  // VM_SOFTDIRTY whatever the policy), next first, then prev; else allocate one.
  auto vma = *mm.find_vma(vm_start);
  if (vma.v.anon_vma) return vma.v.anon_vma;
  auto compatible = [](const vma_ref& a, const vma_ref& b) {
    return a.vm_end == b.vm_start && a.v.file == b.v.file && a.v.file_ro == b.v.file_ro &&
           !((a.v.vm_flags ^ b.v.vm_flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) &&
           b.vm_pgoff() == a.vm_pgoff() + (b.vm_start - a.vm_start);
  };
  anon_vma_id id = 0;
  if (auto next = mm.find_vma(vma.vm_end); next && compatible(vma, *next)) id = next->v.anon_vma;
  if (!id && vma.vm_start > 0)
    if (auto prev = mm.find_vma(vma.vm_start - 1); prev && compatible(*prev, vma))
      id = prev->v.anon_vma;
  if (!id) id = mm.new_anon_vma();
  vma.v.anon_vma = id;
  mm.update_vma(vma.vm_start, vma.v);
  return id;
}

void kernel::do_fault_around(const vma_ref& vma, pfn_t pfn) {
  // mm/memory.c:do_fault_around -> filemap_map_pages: map already-cached pages of a
  // fault_around_pages window (aligned in the page table, clamped to the VMA, the PTE table
  // and the file size) that are pte_none, from vm_page_prot, clean and not soft-dirty.
  const pfn_t pte_off = pfn & (PTRS_PER_PTE - 1), vma_off = pfn - vma.vm_start;
  const pfn_t from_pte = std::max(pte_off & ~(fault_around_pages - 1), pte_off - std::min(pte_off, vma_off));
  const pfn_t to_pte = std::min({from_pte + fault_around_pages, PTRS_PER_PTE,
                                 pte_off + (vma.pages() - vma_off)});
  const memfile& f = mm.file(vma.v.file);
  pte_t mapped;
  mapped.kind = pte_kind::present;
  mapped.page = pte_page::file;
  mapped.write = vma.v.page_prot_write;
  for (pfn_t p = pfn - pte_off + from_pte; p < pfn - pte_off + to_pte; ++p) {
    std::uint64_t index = vma.pgoff_at(p);
    if (index >= f.size_pages || !boost::icl::contains(f.cached, index)) continue;
    if (!mm.pte_at(p).is_none()) continue;
    mm.set_ptes(p, p + 1, mapped);
  }
}

void kernel::do_read_fault_file(const vma_ref& vma, pfn_t pfn, bool uffd_wp) {
  // mm/memory.c:do_read_fault: fault-around first unless uffd-wp/minor is registered
  // (uffd_disable_fault_around); then shmem_fault brings the page into the page cache.
  if (!(vma.v.vm_flags & VM_UFFD_WP)) do_fault_around(vma, pfn);
  if (mm.pte_at(pfn).is_present()) return;
  memfile& f = mm.file(vma.v.file);
  std::uint64_t index = vma.pgoff_at(pfn);
  f.cached.add(index);
  f.swapped.erase(index);
  // set_pte_range: built from vm_page_prot (writable only for shared VMAs without
  // write-notify), not dirty, not soft-dirty; a uffd-wp marker makes it uffd-wp.
  pte_t p;
  p.kind = pte_kind::present;
  p.page = pte_page::file;
  p.write = vma.v.page_prot_write && !uffd_wp;
  p.uffd_wp = uffd_wp;
  mm.set_ptes(pfn, pfn + 1, p);
}

kernel::fault_result kernel::handle_mm_fault(pfn_t pfn, bool write) {
  auto vma = mm.find_vma(pfn);
  if (!vma) return fault_result::sigsegv;
  // arch/x86/mm/fault.c:access_error: a write needs VM_WRITE; a read any access bit.
  const vm_flags_t flags = vma->v.vm_flags;
  if (write ? !(flags & VM_WRITE) : !(flags & VM_ACCESS_FLAGS)) return fault_result::sigsegv;
  fault_run(*vma, pfn, pfn + 1, mm.pte_at(pfn), write);
  return fault_result::ok;
}

void kernel::fault_run(const vma_ref& vma, pfn_t s, pfn_t e, const pte_t& pte, bool write) {
  // The access to [s,e), whose pages all hold `pte`, of a VMA that permits it.
  const bool shared = vma.v.vm_flags & VM_SHARED;
  if (!write) {
    if (pte.is_present()) return;  // the hardware reads; no fault
    mm.alloc_tables(s, e);
    if (pte.kind == pte_kind::swap) {
      // mm/memory.c:do_swap_page: soft-dirty and uffd-wp come back from the swap PTE; the page
      // is mapped writable only if exclusive and no tracker needs a write fault.
      pte_t n = pte;
      n.kind = pte_kind::present;
      n.page = pte_page::anon;
      n.dirty = false;
      for_each_tracking_run(vma, s, e, [&](pfn_t a, pfn_t b) {
        n.write = pte.anon_exclusive && (vma.v.vm_flags & VM_WRITE) && !pte.uffd_wp &&
                  !needs_sd_wp(vma, a, pte);
        mm.set_ptes(a, b, n);
      });
      return;
    }
    const bool uffd = pte.kind == pte_kind::marker;
    if (vma.is_anonymous()) {
      // do_anonymous_page, read: the shared zero page, read-only, not soft-dirty; no anon_vma.
      pte_t z;
      z.kind = pte_kind::present;
      z.page = pte_page::zero;
      z.uffd_wp = uffd;
      mm.set_ptes(s, e, z);
    } else {
      for (pfn_t p = s; p < e; ++p) do_read_fault_file(vma, p, uffd);
    }
    return;
  }
  if (pte.is_present() && pte.write) {
    // A store through a writable PTE: the CPU sets _PAGE_DIRTY, never soft-dirty.
    pte_t n = pte;
    n.dirty = true;
    mm.set_ptes(s, e, n);
    return;
  }
  mm.alloc_tables(s, e);
  // Every write fault ends in pte_mkdirty (x86: dirty and soft-dirty) on a writable PTE, and in
  // async uffd-wp mode first drops the uffd-wp bit (do_wp_page) or resolves the marker.
  pte_t n;
  n.kind = pte_kind::present;
  n.write = n.dirty = n.soft_dirty = true;
  if (shared) {
    // do_shared_fault / wp_page_shared: the page-cache page itself.
    n.page = pte_page::file;
    memfile& f = mm.file(vma.v.file);
    const prange idx(vma.pgoff_at(s), vma.pgoff_at(e));
    f.cached += idx;
    f.swapped -= idx;
  } else {
    // do_anonymous_page / do_cow_fault / wp_page_copy / wp_page_reuse: an exclusive anon page.
    if (!vma.v.anon_vma) anon_vma_prepare(vma.vm_start);  // (a stale copy only costs a lookup)
    n.page = pte_page::anon;
    n.anon_exclusive = true;
    n.lazyfree = pte.is_present() && pte.page == pte_page::anon && pte.lazyfree;
  }
  mm.set_ptes(s, e, n);
}

Result kernel::access(std::uint64_t addr, std::uint64_t len, bool write) {
  // Page by page in ascending order, stopping at the first page the kernel refuses. Pages of
  // one VMA whose PTEs are identical take identical faults, so runs are handled at once; only
  // file read faults go page by page (fault-around depends on the faulting page).
  if (len == 0) return ok(0);
  const pfn_t first = addr_to_pfn(addr), end = addr_to_pfn(addr + len - 1) + 1;
  for (pfn_t p = first; p < end;) {
    auto vma = mm.find_vma(p);
    if (!vma) return sigsegv();
    const vm_flags_t flags = vma->v.vm_flags;
    // arch/x86/mm/fault.c:access_error: a write needs VM_WRITE; a read any access bit.
    if (write ? !(flags & VM_WRITE) : !(flags & VM_ACCESS_FLAGS)) return sigsegv();
    const pfn_t seg_end = std::min(vma->vm_end, end);
    if (!write && !vma->is_anonymous()) {
      for (pfn_t q = p; q < seg_end; ++q) handle_mm_fault(q, false);
    } else {
      for (const auto& r : mm.collect_ptes(p, seg_end, true)) {
        // Reads of present pages and stores through writable dirty PTEs change nothing.
        const bool nothing = r.p.is_present() && (write ? r.p.write && r.p.dirty : true);
        if (!nothing) fault_run(*vma, r.s, r.e, r.p, write);
      }
      if (write) {
        if (vma->v.file) mm.file(vma->v.file).written += prange(vma->pgoff_at(p), vma->pgoff_at(seg_end));
        if (obs) obs->stored(p, seg_end);
      }
    }
    p = seg_end;
  }
  return ok(0);
}

void kernel::populate(pfn_t start, pfn_t end) {
  // mm/gup.c:__mm_populate -> populate_vma_page_range: write faults for private writable
  // mappings, read faults otherwise, nothing for inaccessible (PROT_NONE) VMAs.
  for (const vma_ref& vma : mm.vmas_in(start, end)) {
    if (vma.v.vm_flags & (VM_IO | VM_PFNMAP)) continue;
    if (!(vma.v.vm_flags & VM_ACCESS_FLAGS)) continue;
    bool write = (vma.v.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
    for (pfn_t p = std::max(start, vma.vm_start); p < std::min(end, vma.vm_end); ++p) {
      if (write) {
        pte_t pte = mm.pte_at(p);
        if (pte.is_present() && pte.write) continue;  // GUP needs no fault
      }
      handle_mm_fault(p, write);
    }
  }
}

std::uint64_t kernel::file_mapcount(file_id f, std::uint64_t index) const {
  // folio_precise_page_mapcount for a page-cache page: every present PTE mapping it.
  std::uint64_t n = 0;
  for (const vma_ref& vma : mm.all_vmas()) {
    if (vma.v.file != f) continue;
    std::int64_t pfn = std::int64_t(index) - vma.v.pgoff_delta;
    if (pfn < std::int64_t(vma.vm_start) || pfn >= std::int64_t(vma.vm_end)) continue;
    pte_t p = mm.pte_at(pfn_t(pfn));
    if (p.is_present() && p.page == pte_page::file) ++n;
  }
  return n;
}

}  // namespace sdmc
