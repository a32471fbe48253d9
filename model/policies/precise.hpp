#pragma once

#include "model/policies/upstream_612.hpp"

namespace sdmc {

// precise: David Hildenbrand's proposal (Dec 2022, in reply to the non_sd_reg RFC): once the
// process has cleared soft-dirty, VMAs whose VM_SOFTDIRTY differs do not merge (a new mapping
// is marked soft-dirty before the merge is tried), and clear_refs, after clearing, merges each
// VMA with its neighbours again. A process that never cleared behaves as upstream-6.12.
class precise : public upstream_612 {
 public:
  std::string_view name() const override { return "precise"; }
  bool keeps_writes_tracked() const override { return true; }  // upstream_612 does not
  bool flags_mergeable(const mm_struct& mm, vm_flags_t a, vm_flags_t b) const override;
  vm_flags_t proposed_new_flags(const mm_struct& mm, vm_flags_t flags) const override;
  bool remerge_after_clear_refs() const override { return true; }
};

}  // namespace sdmc
