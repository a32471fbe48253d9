#pragma once

#include "model/policy.hpp"

namespace sdmc {

// granular: the non_sd_reg RFC (Muhammad Usama Anjum, Dec 2022). VM_SOFTDIRTY is replaced by a
// per-VMA list of clean sub-ranges (struct non_sd_reg, kept in mm.non_sd_regs by vma_id):
// - a new VMA has an empty list: all of it reads soft-dirty;
// - clear_refs replaces each VMA's list by one node covering the VMA;
// - a split divides the nodes at the split point, splitting a node that straddles it;
// - a merge concatenates the lists; a newly added range is uncovered;
// - an mremap move carries the nodes, shifted; fork clones them (the child exits at once);
// - bit 55 = PTE soft-dirty, or the address is not covered by a node;
// - write-notify follows coverage: a covered page needs write faults (tracking enabled).
// The RFC never coalesced nodes (the list-growth concern raised in review); `coalesce` makes
// the granular-coalesce variant, which joins touching nodes after every list change.
class granular : public policy {
 public:
  explicit granular(bool coalesce = false) : coalesce_(coalesce) {}
  std::string_view name() const override { return coalesce_ ? "granular-coalesce" : "granular"; }

  bool flags_mergeable(const mm_struct& mm, vm_flags_t a, vm_flags_t b) const override;
  bool tracking_enabled(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const override;
  pset vma_tracked_pages(const mm_struct& mm, const vma_ref& vma) const override;
  bool vma_wants_sd_writenotify(const mm_struct& mm, const vma_ref& vma) const override;
  bool vma_reports_dirty(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const override;
  bool has_page_granular_state() const override { return true; }
  bool promises_precision() const override { return true; }
  // Write-notify follows coverage also through merges: the RFC left the target's vm_page_prot
  // as it was, and madvise/mlock/uffd merges then let a store to a handed-over clean range go
  // unseen (sdmc explore finds it in 7 operations, a variant of sequence C).
  bool merge_sets_page_prot() const override { return true; }
  pset vma_dirty_pages(const mm_struct& mm, const vma_ref& vma) const override;

  void mark_new(vma_value& v, pfn_t vm_start, pfn_t vm_end, pfn_t new_start,
                pfn_t new_end) const override {}
  bool clear_vma(mm_struct& mm, vma_value& v, pfn_t vm_start, pfn_t vm_end) const override;

  void on_split(mm_struct& mm, const vma_ref& lo, const vma_ref& hi) const override;
  void on_merge(mm_struct& mm, const vma_ref& merged,
                std::span<const std::uint32_t> absorbed_ids) const override;
  void on_move(mm_struct& mm, const vma_ref& src, pfn_t src_start, pfn_t src_end,
               const vma_ref& moved, std::int64_t delta_pages) const override;
  void on_unmap(mm_struct& mm, pfn_t start, pfn_t end) const override;

  std::uint64_t extra_metadata_bytes(const mm_struct& mm) const override;
  std::uint64_t non_sd_reg_nodes(const mm_struct& mm) const override;

 private:
  bool coalesce_;
  using list = std::vector<non_sd_reg>;
  static const list* nodes(const mm_struct& mm, std::uint32_t vma_id);
  static pset covered(const mm_struct& mm, const vma_ref& vma);
  // Stores `l` (sorted by start) as the list of vma_id, coalescing touching nodes when asked;
  // an empty list is erased.
  void store(mm_struct& mm, std::uint32_t vma_id, list l) const;
};

}  // namespace sdmc
