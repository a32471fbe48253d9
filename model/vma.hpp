// struct vm_area_struct, reduced to what decides merges and soft-dirty reporting in 6.12.
//
// The range [vm_start, vm_end) is the key of the interval container (model/mm.hpp); the value is
// everything else. Splitting a VMA is then a split of the interval with the value copied, exactly
// as mm/vma.c:__split_vma copies the VMA with vm_area_dup: so every field here must keep its
// meaning when copied to both halves. That is why the file offset is stored as `pgoff_delta`
// (vm_pgoff - vm_start in pages), which is the same for both halves.
#pragma once

#include <cstdint>

#include "model/types.hpp"
#include "model/vm_flags.hpp"

namespace sdmc {

using file_id = std::uint32_t;      // 0 = no vm_file (private anonymous)
using anon_vma_id = std::uint32_t;  // 0 = no anon_vma yet

// A clean sub-range of a VMA for the granular (non_sd_reg) design; unused by upstream-6.12.
struct non_sd_reg {
  pfn_t start = 0, end = 0;
  bool operator==(const non_sd_reg&) const = default;
};

struct vma_value {
  vm_flags_t vm_flags = 0;
  file_id file = 0;             // memory file (memfd, or the shmem file of a shared-anon mapping)
  bool file_ro = false;         // mapped through the read-only open of the file (another vm_file)
  std::int64_t pgoff_delta = 0; // vm_pgoff - vm_start (pages)
  anon_vma_id anon_vma = 0;
  // vm_page_prot allows writes. Only shared mappings can have a writable vm_page_prot: for
  // private ones vm_get_page_prot gives a COW (read-only) protection. It is recomputed only by
  // mm/mmap.c:vma_set_page_prot callers, so it can go stale (semantics 2.4).
  bool page_prot_write = false;
  std::uint32_t vma_id = 0;     // identity of the vm_area_struct object (for diagrams and merges)
  // Trivially copyable on purpose: the containers copy values on every split. State a design
  // keeps per VMA beyond the flags (the granular non_sd_reg lists) lives in mm_struct, keyed
  // by vma_id.

  bool operator==(const vma_value&) const = default;
  // Interval containers need an aggregation; VMAs are only ever replaced, never combined.
  vma_value& operator+=(const vma_value& o) { return *this = o; }
};

// A VMA as the operations see it: range plus value.
struct vma_ref {
  pfn_t vm_start = 0, vm_end = 0;
  vma_value v;
  std::uint64_t vm_pgoff() const { return std::uint64_t(std::int64_t(vm_start) + v.pgoff_delta); }
  std::uint64_t pgoff_at(pfn_t pfn) const { return std::uint64_t(std::int64_t(pfn) + v.pgoff_delta); }
  pfn_t pages() const { return vm_end - vm_start; }
  // vma_is_anonymous(): no vm_ops. A shared-anon mapping has a shmem file, so it is not.
  bool is_anonymous() const { return v.file == 0; }
  vm_flags_t flags() const { return v.vm_flags; }
};

}  // namespace sdmc
