// echo 4 > /proc/PID/clear_refs: fs/proc/task_mmu.c:clear_refs_write (semantics 1.2, 3.3, 5).
#include "sim/kernel.hpp"

namespace sdmc {

Result kernel::clear_refs() {
  if (pol_.emulates_soft_dirty_with_uffd_wp()) {
    // The uffd-wp design: the consumer's reset is a write-protect of the whole address space
    // (registering what is not registered yet), not the soft-dirty walk.
    for (const vma_ref& v : mm.all_vmas()) {
      if (!mm.find_vma(v.vm_start)) continue;  // (registration merges never remove a start)
      if (!uffd_register(v.vm_start, v.vm_end)) uffd_writeprotect(v.vm_start, v.vm_end);
    }
    mm.cleared_refs = true;
    if (obs) obs->cleared_refs();
    return ok(0);
  }
  // First the VMAs: the policy clears the flag, and vm_page_prot is recomputed only for VMAs
  // it changed (write-notify comes back for shared mappings).
  mm.update_each_vma([&](pfn_t s, pfn_t e, vma_value& v) {
    if (pol_.clear_vma(mm, v, s, e)) v.page_prot_write = page_prot_write(vma_ref{s, e, v});
  });
  // Then the walk: clear_soft_dirty write-protects and cleans every present PTE (the pinned
  // exception is out of scope: no DMA pins in the model) and cleans every swap entry and
  // marker. No VMA of the model is VM_PFNMAP or hugetlb (clear_refs_test_walk skips those), so
  // the walk covers every PTE.
  mm.update_all_ptes([](pte_t& p) {
    if (p.is_present()) p.write = false;
    p.soft_dirty = false;
  });
  mm.cleared_refs = true;
  if (pol_.remerge_after_clear_refs()) {
    // Every VMA is clean now: try to merge each with its neighbours, left to right, as a flag
    // change to the same flags would (vma_merge_existing_range over the whole VMA).
    for (pfn_t at = 0;;) {
      auto vma = mm.find_vma_from(at);
      if (!vma) break;
      modified m = vma_merge_existing_range(*vma, vma->vm_start, vma->vm_end, vma->v.vm_flags);
      at = m.merged ? m.vma->vm_end : vma->vm_end;
    }
  }
  if (obs) obs->cleared_refs();
  return ok(0);
}

}  // namespace sdmc
