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
    // filemap_map_pmd installs the PTE table once next_uptodate_folio found a folio (else the
    // table stays absent: a fault that then fails frees its preallocated one).
    mm.alloc_tables(p, p + 1);
    mm.set_ptes(p, p + 1, mapped);
  }
}

pfn_t kernel::file_eof_pfn(const vma_ref& vma) const {
  if (vma.is_anonymous()) return vma.vm_end;
  // The page whose file index (vma.pgoff_at) is i_size in pages; the file never shrinks here
  // (no ftruncate in the format), so a VMA can only extend past it through mremap growth.
  const std::int64_t eof = std::int64_t(mm.file(vma.v.file).size_pages) - vma.v.pgoff_delta;
  return pfn_t(std::clamp<std::int64_t>(eof, std::int64_t(vma.vm_start), std::int64_t(vma.vm_end)));
}

kernel::fault_result kernel::do_read_fault_file(const vma_ref& vma, pfn_t pfn, bool uffd_wp) {
  // mm/memory.c:do_read_fault: fault-around first unless uffd-wp/minor is registered
  // (uffd_disable_fault_around); then shmem_fault brings the page into the page cache.
  if (!(vma.v.vm_flags & VM_UFFD_WP)) do_fault_around(vma, pfn);
  if (mm.pte_at(pfn).is_present()) return fault_result::ok;
  memfile& f = mm.file(vma.v.file);
  std::uint64_t index = vma.pgoff_at(pfn);
  // mm/shmem.c:shmem_fault -> shmem_get_folio_gfp(SGP_CACHE): -EINVAL for an index at or beyond
  // i_size, which vmf_error makes VM_FAULT_SIGBUS (after the fault-around above, which maps
  // only pages below i_size: filemap_map_pages clamps to file_end). Nothing else changes: no
  // PTE, and no table unless fault-around installed one; a uffd-wp marker stays.
  if (index >= f.size_pages) return fault_result::sigbus;
  mm.alloc_tables(pfn, pfn + 1);  // finish_fault
  // mm/shmem.c:shmem_swapin_folio marks a folio read back from swap dirty (its swap slot is
  // freed at once, so the page cache holds the only copy).
  if (boost::icl::contains(f.swapped, index)) f.dirty.add(index);
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
  return fault_result::ok;
}

kernel::fault_result kernel::handle_mm_fault(pfn_t pfn, bool write) {
  auto vma = mm.find_vma(pfn);
  if (!vma) return fault_result::sigsegv;
  // arch/x86/mm/fault.c:access_error: a write needs VM_WRITE; a read any access bit.
  const vm_flags_t flags = vma->v.vm_flags;
  if (write ? !(flags & VM_WRITE) : !(flags & VM_ACCESS_FLAGS)) return fault_result::sigsegv;
  if (fault_run(*vma, pfn, pfn + 1, mm.pte_at(pfn), write) == pfn) return fault_result::sigbus;
  return fault_result::ok;
}

pfn_t kernel::fault_run(const vma_ref& vma, pfn_t s, pfn_t e, const pte_t& pte, bool write) {
  // The access to [s,e), whose pages all hold `pte`, of a VMA that permits it.
  const bool shared = vma.v.vm_flags & VM_SHARED;
  if (!write) {
    if (pte.is_present()) return e;  // the hardware reads; no fault
    if (pte.kind == pte_kind::swap) {
      mm.alloc_tables(s, e);
      // mm/memory.c:do_swap_page: soft-dirty and uffd-wp come back from the swap PTE; the page
      // is mapped writable only if exclusive and no tracker needs a write fault.
      pte_t n = pte;
      n.kind = pte_kind::present;
      n.page = pte_page::anon;
      n.dirty = false;
      // mutant swap_loses_soft_dirty: before 179ef71cbc08 do_swap_page had no
      // pte_swp_soft_dirty to restore.
      if (mm.bug == mutant::swap_loses_soft_dirty) n.soft_dirty = false;
      for_each_tracking_run(vma, s, e, [&](pfn_t a, pfn_t b) {
        n.write = pte.anon_exclusive && (vma.v.vm_flags & VM_WRITE) && !pte.uffd_wp &&
                  !needs_sd_wp(vma, a, pte);
        mm.set_ptes(a, b, n);
      });
      return e;
    }
    const bool uffd = pte.kind == pte_kind::marker;
    if (vma.is_anonymous()) {
      // do_anonymous_page, read: the shared zero page, read-only, not soft-dirty; no anon_vma.
      mm.alloc_tables(s, e);
      pte_t z;
      z.kind = pte_kind::present;
      z.page = pte_page::zero;
      z.uffd_wp = uffd;
      mm.set_ptes(s, e, z);
    } else {
      for (pfn_t p = s; p < e; ++p)
        if (do_read_fault_file(vma, p, uffd) == fault_result::sigbus) return p;
    }
    return e;
  }
  if (pte.is_present() && pte.write) {
    // A store through a writable PTE: the CPU sets _PAGE_DIRTY, never soft-dirty.
    pte_t n = pte;
    n.dirty = true;
    mm.set_ptes(s, e, n);
    return e;
  }
  // A pte_none (or uffd-wp marker) slot of a file VMA faults through do_cow_fault (private) or
  // do_shared_fault, whose __do_fault -> shmem_fault refuses a page at or beyond i_size with
  // VM_FAULT_SIGBUS (mm/shmem.c:shmem_get_folio_gfp, SGP_CACHE: -EINVAL). do_cow_fault has
  // called vmf_anon_prepare (the VMA's anon_vma) before; the PTE, its table and the file are
  // left as they were. Present and swap PTEs never reach ->fault.
  if (!vma.is_anonymous() && (pte.is_none() || pte.kind == pte_kind::marker)) {
    const pfn_t eof = std::clamp(file_eof_pfn(vma), s, e);
    if (eof < e && !shared && !vma.v.anon_vma) anon_vma_prepare(vma.vm_start);
    if (eof == s) return s;
    e = eof;
  }
  mm.alloc_tables(s, e);
  // Every write fault ends in pte_mkdirty (x86: dirty and soft-dirty) on a writable PTE, and in
  // async uffd-wp mode first drops the uffd-wp bit (do_wp_page) or resolves the marker.
  pte_t n;
  n.kind = pte_kind::present;
  n.write = n.dirty = n.soft_dirty = true;
  if (shared) {
    // do_shared_fault / wp_page_shared: the page-cache page itself, which
    // fault_dirty_shared_page marks dirty at once (mm/memory.c:3185-3193).
    n.page = pte_page::file;
    memfile& f = mm.file(vma.v.file);
    const prange idx(vma.pgoff_at(s), vma.pgoff_at(e));
    f.cached += idx;
    f.dirty += idx;
    f.swapped -= idx;
  } else {
    // do_anonymous_page / do_cow_fault / wp_page_copy / wp_page_reuse: an exclusive anon page.
    if (!vma.v.anon_vma) anon_vma_prepare(vma.vm_start);  // (a stale copy only costs a lookup)
    n.page = pte_page::anon;
    n.anon_exclusive = true;
    n.lazyfree = pte.is_present() && pte.page == pte_page::anon && pte.lazyfree;
  }
  mm.set_ptes(s, e, n);
  return e;
}

Result kernel::access(std::uint64_t addr, std::uint64_t len, bool write) {
  // Page by page in ascending order, stopping at the first page the kernel refuses: SIGSEGV
  // (arch/x86/mm/fault.c:bad_area*) or SIGBUS (do_sigbus, for VM_FAULT_SIGBUS). Pages of one
  // VMA whose PTEs are identical take identical faults up to the end of the file, so runs are
  // handled at once; only file read faults go page by page (fault-around depends on the
  // faulting page).
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
      for (pfn_t q = p; q < seg_end; ++q)
        if (handle_mm_fault(q, false) == fault_result::sigbus) return sigbus();
    } else {
      pfn_t done = seg_end;  // the pages stored to: up to a refused one
      for (const auto& r : mm.collect_ptes(p, seg_end, true)) {
        // Reads of present pages and stores through writable dirty PTEs change nothing.
        const bool nothing = r.p.is_present() && (write ? r.p.write && r.p.dirty : true);
        if (nothing) continue;
        if (pfn_t stop = fault_run(*vma, r.s, r.e, r.p, write); stop < r.e) {
          done = stop;
          break;
        }
      }
      if (write && done > p) {
        // Stores through a shared mapping reach the file; through a private one, a COW copy.
        if (vma->v.file && (flags & VM_SHARED))
          mm.file(vma->v.file).written += prange(vma->pgoff_at(p), vma->pgoff_at(done));
        if (obs) obs->stored(p, done);
      }
      if (done < seg_end) return sigbus();
    }
    p = seg_end;
  }
  return ok(0);
}

int kernel::populate(pfn_t start, pfn_t end, bool ignore_errors) {
  // mm/gup.c:__mm_populate: VMA by VMA, skipping VM_IO/VM_PFNMAP; a failing
  // populate_vma_page_range ends it (mlock: ignore_errors = 0) or skips the rest of that VMA
  // ("continue at next VMA").
  for (const vma_ref& vma : mm.vmas_in(start, end)) {
    if (vma.v.vm_flags & (VM_IO | VM_PFNMAP)) continue;
    const int e = populate_vma_page_range(vma, std::max(start, vma.vm_start), std::min(end, vma.vm_end));
    if (e && !ignore_errors) return e;
  }
  return 0;
}

int kernel::populate_vma_page_range(const vma_ref& vma, pfn_t start, pfn_t end) {
  // mm/gup.c:populate_vma_page_range: -EFAULT for an inaccessible (PROT_NONE) VMA; write
  // faults for private writable mappings, read faults otherwise. __get_user_pages stops at
  // the first page whose fault fails: faultin_page -> vm_fault_to_errno makes VM_FAULT_SIGBUS
  // (a file page beyond i_size) -EFAULT. (After a partial success __mm_populate calls it again
  // at that page, which fails again the same way and changes nothing more.)
  if (!(vma.v.vm_flags & VM_ACCESS_FLAGS)) return -EFAULT;
  const bool write = (vma.v.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
  for (pfn_t p = start; p < end; ++p) {
    if (write) {
      pte_t pte = mm.pte_at(p);
      if (pte.is_present() && pte.write) continue;  // GUP needs no fault
    }
    if (handle_mm_fault(p, write) != fault_result::ok) return -EFAULT;
  }
  return 0;
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
