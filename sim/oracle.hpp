// The ghost oracle: what really happened to each address, independent of any kernel state,
// and the judgement of what the policy reports against it (issue "Model core", the three
// classes). Judged at every observation point; a page is counted once per class between two
// resets (clear_refs for soft-dirty, a write-protect reset for `written`).
#pragma once

#include <cstdint>

#include "sim/kernel.hpp"

namespace sdmc {

struct oracle_counts {
  std::uint64_t false_negatives = 0;    // stored to, holds data, the bit reads 0
  std::uint64_t lost_new_mappings = 0;  // newly mapped since the reset, the bit reads 0
  std::uint64_t false_positives = 0;    // the bit reads 1, neither stored to nor newly mapped
  // Pages that would be a false negative or a lost new mapping, but only through a
  // kernel-mandated mechanism every design built on 6.12 shares (see oracle::relocated and
  // oracle::zapped_kept); reported apart so that they are seen, never mixed into the above.
  std::uint64_t kernel_gaps = 0;
  bool operator==(const oracle_counts&) const = default;
  oracle_counts& operator+=(const oracle_counts& o) {
    false_negatives += o.false_negatives;
    lost_new_mappings += o.lost_new_mappings;
    false_positives += o.false_positives;
    kernel_gaps += o.kernel_gaps;
    return *this;
  }
};

// The pages of one judgement, for reports and diagrams.
struct judgement {
  pset false_negatives, lost_new_mappings, false_positives;
  pset kernel_gaps;
  bool empty() const {
    return false_negatives.empty() && lost_new_mappings.empty() && false_positives.empty();
  }
};

class oracle : public observer {
 public:
  void stored(pfn_t start, pfn_t end) override;
  void mapped_new(pfn_t start, pfn_t end) override;
  void unmapped(pfn_t start, pfn_t end) override;
  void cleared_refs() override;
  void wp_reset(pfn_t start, pfn_t end) override;
  void sd_reset(pfn_t start, pfn_t end) override;
  // The kernel-mandated exceptions. mremap places pages at new addresses without setting
  // VM_SOFTDIRTY (mm/mremap.c:move_vma -> mm/vma.c:copy_vma copies the source's flags, and
  // vma_merge_extend grows a VMA in place with its own), so under every design that keeps the
  // bit in the VMA a pte_none page there reads clean: a moved page that was clean at its
  // source, or a grown tail (a page that came with its data must read soft-dirty:
  // mm/mremap.c:move_soft_dirty_pte, so it is no gap while it holds that data). A soft-dirty PTE
  // of a file/shmem page zapped while the page cache keeps the content (mm/memory.c:
  // zap_pte_range and mm/rmap.c:try_to_unmap_one leave no marker) takes the bit with it:
  // re-read, the page is clean. These pages are counted as kernel_gaps, apart from the three
  // classes. A moved page keeps its ghost state: one new or stored at the source still is.
  void moved(pfn_t src, pfn_t src_pages, pfn_t dst, pfn_t dst_pages) override;
  void grown_in_place(pfn_t start, pfn_t end) override;
  void moved_with_pte(pfn_t start, pfn_t end) override;
  void zapped_kept(pfn_t start, pfn_t end) override;

  // Judges the kernel's current report and adds newly wrong pages to the counts. With
  // `reset_follows` (clear_refs is about to run) the pages are counted but not remembered.
  void observe(const kernel& k, bool reset_follows = false);
  // What is wrong right now (without counting).
  judgement judge_sd(const kernel& k) const;
  judgement judge_written(const kernel& k) const;

  oracle_counts sd;       // pagemap bit 55 against stores and new mappings since clear_refs
  oracle_counts written;  // PAGE_IS_WRITTEN against the same since the last wp reset
  pset stored_since_clear, new_since_clear;
  pset moved_since_clear, zapped_since_clear;  // where the kernel-mandated exceptions apply
  pset moved_pte_since_clear;                  // moved pages that came with their PTE
  pset stored_since_wp, new_since_wp;  // kept from the first write-protect reset on
  bool wp_tracking() const { return wp_tracking_; }  // a write-protect reset has happened

 private:
  bool wp_tracking_ = false;
  judgement counted_sd_, counted_wr_;
};

}  // namespace sdmc
