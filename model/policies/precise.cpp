#include "model/policies/precise.hpp"

namespace sdmc {

bool precise::flags_mergeable(const mm_struct& mm, vm_flags_t a, vm_flags_t b) const {
  if (!mm.cleared_refs) return upstream_612::flags_mergeable(mm, a, b);
  return a == b;  // VM_SOFTDIRTY counts once tracking is in use
}

vm_flags_t precise::proposed_new_flags(const mm_struct& mm, vm_flags_t flags) const {
  return mm.cleared_refs ? flags | VM_SOFTDIRTY : flags;
}

}  // namespace sdmc
