// What one lane of a diagram shows: the address space of one policy at one point of a trace,
// reduced to what is drawn: the VMAs with their flags and non_sd_reg nodes, and their pages in
// runs of identical state (pagemap bits and the ghost oracle's judgement).
#pragma once

#include <string>
#include <vector>

#include "sim/kernel.hpp"
#include "sim/oracle.hpp"

namespace sdmc::viz {

// One page as drawn.
struct page_state {
  bool present = false, swapped = false, marker = false;  // the PTE as pagemap reports it
  bool soft_dirty = false;      // pagemap bit 55 (kernel::soft_dirty_pages)
  bool written = false;         // stored to since clear_refs (oracle stored_since_clear)
  bool fresh = false;           // newly mapped since clear_refs (oracle new_since_clear)
  bool false_negative = false;  // oracle::judge_sd
  bool lost_new_mapping = false;
  bool false_positive = false;
  bool kernel_gap = false;      // reads clean by the kernel's own rule (mremap, zapped shmem)
  bool in_non_sd_reg = false;   // inside one of the VMA's non_sd_reg nodes (granular designs)
  bool operator==(const page_state&) const = default;
};

struct page_run {
  pfn_t start = 0, end = 0;
  page_state s;
};

struct vma_box {
  pfn_t start = 0, end = 0;
  vma_value v;
  std::string backing;                  // "anon", "memfd:NAME", "shmem (shared anon)"
  std::vector<non_sd_reg> non_sd_regs;  // mm.non_sd_regs[vma_id], clipped to the VMA
  std::vector<page_run> runs;           // maximal runs of equal page_state covering the VMA
  bool soft_dirty() const { return v.vm_flags & VM_SOFTDIRTY; }
};

struct lane_state {
  std::string policy;
  std::vector<vma_box> vmas;  // address order
  judgement wrong;            // oracle::judge_sd at this point
};

lane_state capture(const kernel& k, const oracle& ghost, const std::string& policy);

}  // namespace sdmc::viz
