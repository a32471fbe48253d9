#pragma once

#include "model/policies/upstream_612.hpp"

namespace sdmc {

// uffd-wp: soft-dirty emulated with async userfaultfd write-protect (UFFD_FEATURE_WP_ASYNC |
// UFFD_FEATURE_WP_UNPOPULATED, Linux 6.7+) and PAGEMAP_SCAN's PAGE_IS_WRITTEN, the way a
// consumer (CRIU, a GetWriteWatch emulation) would use it: every anonymous and shmem mapping
// is registered and write-protected when it is created, clear_refs is a write-protect reset of
// the whole address space, and bit 55 reads as PAGE_IS_WRITTEN. PTE-based: the VMA layout
// plays no part, so VMA rules stay those of 6.12 (VM_SOFTDIRTY is never cleared, since the
// consumer never writes clear_refs). No per-mapping signal exists: a new mapping reads not
// written until stored to (counted as lost new mappings, by design).
class uffd_wp : public upstream_612 {
 public:
  std::string_view name() const override { return "uffd-wp"; }
  bool emulates_soft_dirty_with_uffd_wp() const override { return true; }
  bool keeps_writes_tracked() const override { return true; }  // upstream_612 does not
  bool promises_precision() const override { return true; }
};

}  // namespace sdmc
