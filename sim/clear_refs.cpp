// echo 4 > /proc/PID/clear_refs: fs/proc/task_mmu.c:clear_refs_write (semantics 1.2, 3.3, 5).
#include "sim/kernel.hpp"

namespace sdmc {

Result kernel::clear_refs() {
  // First the VMAs: the policy clears the flag, and vm_page_prot is recomputed only for VMAs
  // it changed (write-notify comes back for shared mappings).
  for (const vma_ref& vma : mm.all_vmas()) {
    vma_value v = vma.v;
    if (!pol_.clear_vma(v, vma.vm_start, vma.vm_end)) continue;
    mm.update_vma(vma.vm_start, v);
    vma_set_page_prot(vma.vm_start);
  }
  // Then the walk: clear_soft_dirty write-protects and cleans every present PTE (the pinned
  // exception is out of scope: no DMA pins in the model) and cleans every swap entry/marker.
  for (const vma_ref& vma : mm.all_vmas()) {
    if (vma.v.vm_flags & VM_PFNMAP) continue;  // clear_refs_test_walk
    mm.update_ptes(vma.vm_start, vma.vm_end, [](const pte_t& p) {
      pte_t n = p;
      if (p.is_present()) n.write = false;
      n.soft_dirty = false;
      return n;
    });
  }
  mm.cleared_refs = true;
  if (obs) obs->cleared_refs();
  return ok(0);
}

}  // namespace sdmc
