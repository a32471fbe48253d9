// mprotect, mlock and munlock: mm/mprotect.c and mm/mlock.c.
#include "sim/kernel.hpp"

namespace sdmc {

bool kernel::can_change_pte_writable(const vma_ref& vma, pfn_t pfn, const pte_t& pte) const {
  // mm/mprotect.c:can_change_pte_writable
  if (!(vma.v.vm_flags & VM_WRITE)) return false;
  // mutant can_change_pte_writable_inverted: before 76aefad628aa the test read
  // `(vm_flags & VM_SOFTDIRTY) && !pte_soft_dirty(pte)`, i.e. it fired when tracking was off.
  const bool sd_wp = mm.bug == mutant::can_change_pte_writable_inverted
                         ? !pol_.tracking_enabled(mm, vma, pfn) && !pte.soft_dirty
                         : needs_sd_wp(vma, pfn, pte);
  if (sd_wp) return false;                                         // soft-dirty needs the fault
  if ((vma.v.vm_flags & VM_UFFD_WP) && pte.uffd_wp) return false;  // so does uffd-wp
  if (!(vma.v.vm_flags & VM_SHARED)) return pte.page == pte_page::anon && pte.anon_exclusive;
  return pte.dirty;  // MAP_SHARED: "clean" may mean the fs still wants a write fault
}

Result kernel::sys_mprotect(std::uint64_t addr, std::uint64_t len, std::uint8_t prot) {
  // mm/mprotect.c:do_mprotect_pkey
  if (offset_in_page(addr)) return err(EINVAL);
  if (len == 0) return ok(0);
  len = page_align(len);
  if (len == 0 || addr + len <= addr) return err(ENOMEM);
  const pfn_t start = addr_to_pfn(addr), end = start + addr_to_pfn(len);
  auto first = mm.find_vma_from(start);
  if (!first || first->vm_start >= end || first->vm_start > start) return err(ENOMEM);

  pfn_t nstart = start, tmp = first->vm_start;
  int error = 0;
  while (nstart < end) {
    auto vma = mm.find_vma_from(nstart);
    if (!vma || vma->vm_start >= end) break;
    if (vma->vm_start != tmp) { error = -ENOMEM; break; }
    const vm_flags_t oldflags = vma->v.vm_flags;
    vm_flags_t newflags = calc_vm_prot_bits(prot) | (oldflags & ~VM_ACCESS_FLAGS);
    // (newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS: asking for a right VM_MAY* withholds.
    if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) { error = -EACCES; break; }
    tmp = std::min(vma->vm_end, end);

    // mprotect_fixup
    if (newflags != oldflags) {
      if (newflags & VM_WRITE) {
        if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)))
          newflags |= VM_ACCOUNT;
      } else if ((oldflags & VM_ACCOUNT) && vma->is_anonymous() && !vma->v.anon_vma) {
        newflags &= ~VM_ACCOUNT;
      }
      modified m = vma_modify(*vma, nstart, tmp, newflags);
      if (m.err) { error = m.err; break; }
      // vm_flags_reset(vma, newflags): the merged VMA takes the modified VMA's flags,
      // VM_SOFTDIRTY included (semantics 2.3), then vma_set_page_prot.
      vm_flags_t final_flags = m.merged ? pol_.merged_flags(merge_path::mprotect, newflags, m.merged_parts())
                                        : newflags;
      const vma_ref res = set_flags(m.vma->vm_start, final_flags, true);
      // change_protection over [nstart, tmp) only: pte_modify keeps soft-dirty, uffd-wp and
      // dirty; the write bit comes from vm_page_prot, then MM_CP_TRY_CHANGE_WRITABLE may
      // upgrade (vma_wants_manual_pte_write_upgrade: private+VM_WRITE, or shared with
      // write-notify).
      const bool try_writable = (res.v.vm_flags & VM_SHARED)
                                    ? (res.v.vm_flags & VM_WRITE) && !res.v.page_prot_write
                                    : (res.v.vm_flags & VM_WRITE);
      // Decided per run of constant tracking (it varies inside a VMA under granular).
      for_each_tracking_run(res, nstart, tmp, [&](pfn_t a, pfn_t b) {
        mm.update_ptes(a, b, [&](const pte_t& p) {
          if (!p.is_present()) return p;
          pte_t n = p;
          n.write = res.v.page_prot_write && !p.uffd_wp;
          if (try_writable && !n.write && can_change_pte_writable(res, a, n)) n.write = true;
          return n;
        });
      });
      // A private VM_LOCKED VMA becoming writable is populated (COW broken) at once
      // (populate_vma_page_range; its error is ignored).
      if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED && (newflags & VM_WRITE))
        populate(nstart, tmp);
      tmp = res.vm_end;  // vma_iter_end(): a merge may reach past tmp
    } else {
      tmp = vma->vm_end;
    }
    nstart = tmp;
  }
  if (!error && tmp < end) error = -ENOMEM;
  return error ? err(-error) : ok(0);
}

int kernel::apply_vma_lock_flags(pfn_t start, pfn_t end, bool lock) {
  // mm/mlock.c:apply_vma_lock_flags
  auto first = mm.find_vma(start);
  if (!first) return -ENOMEM;
  pfn_t nstart = start, tmp = first->vm_start;
  while (nstart < end) {
    auto vma = mm.find_vma_from(nstart);
    if (!vma || vma->vm_start >= end) break;
    if (vma->vm_start != tmp) return -ENOMEM;
    vm_flags_t newflags = (vma->v.vm_flags & ~VM_LOCKED_MASK) | (lock ? VM_LOCKED : 0);
    tmp = std::min(vma->vm_end, end);
    // mlock_fixup: nothing to do, or VMAs mlock does not support (VM_SPECIAL, droppable).
    if (newflags != vma->v.vm_flags && !(vma->v.vm_flags & (VM_SPECIAL | VM_DROPPABLE))) {
      modified m = vma_modify(*vma, nstart, tmp, newflags);
      if (m.err) return m.err;
      // vm_flags_reset to newflags; no vma_set_page_prot (the stale-prot path of 2.4).
      set_flags(m.vma->vm_start, m.merged ? pol_.merged_flags(merge_path::mlock, newflags, m.merged_parts())
                                          : newflags);
    }
    tmp = mm.find_vma(nstart)->vm_end;  // vma_iter_end()
    nstart = tmp;
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}

Result kernel::sys_mlock(std::uint64_t addr, std::uint64_t len, bool lock) {
  // mm/mlock.c:do_mlock / munlock: the start is rounded down, not refused.
  len = page_align(len + (addr & (PAGE_SIZE - 1)));
  addr &= ~(PAGE_SIZE - 1);
  std::uint64_t endb = addr + len;
  if (endb < addr) return err(EINVAL);
  if (endb == addr) return ok(0);
  const pfn_t start = addr_to_pfn(addr), end = addr_to_pfn(endb);
  if (int e = apply_vma_lock_flags(start, end, lock)) return err(-e);
  if (!lock) return ok(0);
  // mm/gup.c:__mm_populate(start, len, ignore_errors = 0) faults the VMAs in address order
  // and stops at the first failure: an inaccessible (PROT_NONE) VMA, or a page whose fault is
  // VM_FAULT_SIGBUS (a file page beyond i_size), fails GUP with -EFAULT, which
  // mm/mlock.c:__mlock_posix_error_return turns into -ENOMEM; the pages after it stay
  // unpopulated (their VMAs are VM_LOCKED all the same).
  if (populate(start, end, /*ignore_errors=*/false)) return err(ENOMEM);
  return ok(0);
}

}  // namespace sdmc
