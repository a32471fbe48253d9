// fork, seen from the parent: kernel/fork.c:dup_mmap and mm/memory.c:copy_page_range.
#include "sim/kernel.hpp"

namespace sdmc {

Result kernel::fork() {
  // kernel/fork.c:dup_mmap + mm/memory.c:copy_page_range, seen from the parent (the child
  // exits at once). PTEs are copied only for VMAs that vma_needs_copy (an anon_vma), never for
  // VM_DONTCOPY or VM_WIPEONFORK; for COW mappings the parent's writable PTEs are
  // write-protected and its anon pages lose PageAnonExclusive (a later write re-faults and so
  // sets soft-dirty again). The child's exit changes nothing visible in the parent.
  for (const vma_ref& vma : mm.all_vmas()) {
    vm_flags_t f = vma.v.vm_flags;
    if (f & (VM_DONTCOPY | VM_WIPEONFORK)) continue;
    if (!vma.v.anon_vma) continue;
    if ((f & (VM_SHARED | VM_MAYWRITE)) != VM_MAYWRITE) continue;  // is_cow_mapping
    mm.update_ptes(vma.vm_start, vma.vm_end, [](const pte_t& p) {
      pte_t n = p;
      if (p.is_present()) n.write = false;
      n.anon_exclusive = false;
      return n;
    });
  }
  return ok(0);
}

}  // namespace sdmc
