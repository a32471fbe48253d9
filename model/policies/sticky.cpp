#include "model/policies/sticky.hpp"

namespace sdmc {

vm_flags_t sticky::merged_flags(merge_path, vm_flags_t flags,
                                std::span<const vma_value> parts) const {
  // mm/vma.c (with VM_STICKY): the merged VMA keeps every sticky flag any participant had,
  // whatever the caller resets the flags to.
  for (const vma_value& v : parts) flags |= v.vm_flags & VM_SOFTDIRTY;
  return flags;
}

}  // namespace sdmc
