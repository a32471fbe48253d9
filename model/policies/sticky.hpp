#pragma once

#include "model/policies/upstream_612.hpp"

namespace sdmc {

// sticky: 6.12 with the November 2025 upstream fix "mm: propagate VM_SOFTDIRTY on merge"
// (Lorenzo Stoakes' VM_STICKY series; bf14d4a05387 in the stable listings): VM_SOFTDIRTY never
// blocks a merge (VM_IGNORE_MERGE) and is OR-ed into the merged VMA on every merge path
// (VM_STICKY). Everything else is upstream-6.12.
class sticky : public upstream_612 {
 public:
  std::string_view name() const override { return "sticky"; }
  bool keeps_writes_tracked() const override { return true; }  // upstream_612 does not
  vm_flags_t merged_flags(merge_path path, vm_flags_t flags,
                          std::span<const vma_value> parts) const override;
};

}  // namespace sdmc
