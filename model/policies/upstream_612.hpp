#pragma once

#include "model/policy.hpp"

namespace sdmc {

class upstream_612 : public policy {
 public:
  std::string_view name() const override { return "upstream-6.12"; }
  bool flags_mergeable(const mm_struct& mm, vm_flags_t a, vm_flags_t b) const override;
  bool tracking_enabled(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const override;
  bool vma_wants_sd_writenotify(const mm_struct& mm, const vma_ref& vma) const override;
  bool vma_reports_dirty(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const override;
  void mark_new(vma_value& v, pfn_t vm_start, pfn_t vm_end, pfn_t new_start,
                pfn_t new_end) const override;
  bool clear_vma(mm_struct& mm, vma_value& v, pfn_t vm_start, pfn_t vm_end) const override;
};

}  // namespace sdmc
