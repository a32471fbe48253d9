// upstream-6.12: Linux 6.12.117 as it is, including the merge paths that lose VM_SOFTDIRTY
// (it lacks bf14d4a05387 "mm: propagate VM_SOFTDIRTY on merge"; semantics 2.5).
#include "model/policies/upstream_612.hpp"

namespace sdmc {

bool upstream_612::flags_mergeable(const mm_struct&, vm_flags_t a, vm_flags_t b) const {
  // mm/vma.c:is_mergeable_vma ignores VM_SOFTDIRTY ("the caller should mark merged VMA as
  // dirty" -- only __mmap_region and do_brk_flags do).
  return ((a ^ b) & ~VM_SOFTDIRTY) == 0;
}

bool upstream_612::tracking_enabled(const mm_struct&, const vma_ref& vma, pfn_t) const {
  // mm/internal.h:vma_soft_dirty_enabled: tracking is on while VM_SOFTDIRTY is clear.
  return !(vma.v.vm_flags & VM_SOFTDIRTY);
}

bool upstream_612::vma_wants_sd_writenotify(const mm_struct&, const vma_ref& vma) const {
  return !(vma.v.vm_flags & VM_SOFTDIRTY);
}

bool upstream_612::vma_reports_dirty(const mm_struct&, const vma_ref& vma, pfn_t) const {
  return vma.v.vm_flags & VM_SOFTDIRTY;
}

void upstream_612::mark_new(vma_value& v, pfn_t, pfn_t, pfn_t, pfn_t) const {
  v.vm_flags |= VM_SOFTDIRTY;  // mm/mmap.c:__mmap_region:1572, do_brk_flags:1858
}

bool upstream_612::clear_vma(mm_struct&, vma_value& v, pfn_t, pfn_t) const {
  // fs/proc/task_mmu.c:clear_refs_write skips VMAs without the flag, so a stale writable
  // vm_page_prot of an already clean VMA is never repaired (semantics 2.4).
  if (!(v.vm_flags & VM_SOFTDIRTY)) return false;
  v.vm_flags &= ~VM_SOFTDIRTY;
  return true;
}

}  // namespace sdmc
