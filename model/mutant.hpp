// The mutant catalogue: historical soft-dirty bugs (../shared/soft-dirty-bug-history.md) that
// can be switched back into the model one at a time, so that every property and the explorer
// show they can fail. `sdmc ... --mutant NAME`; mutant::none is the model as it is.
//
// A mutant is configuration of the model, not a design: it lives in mm_struct (model/mm.hpp,
// `bug`) so that the operations and the policies can both consult it, and each site that
// honours one says so with a comment naming the mutant.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace sdmc {

enum class mutant : unsigned char {
  none,
  new_vma_not_soft_dirty,       // 2013, before d9104d1ca966 "mm: track vma changes with VM_SOFTDIRTY bit"
  pte_hole_ignores_vma,         // v3.17 2014, "mm: softdirty: respect VM_SOFTDIRTY in PTE holes"
  gap_uses_next_vma_flag,       // 2014, 62c98294410d "mm: softdirty: unmapped addresses between VMAs are clean"
  no_writenotify_after_clear,   // 2014, 64e455079e1b "mm: softdirty: enable write notifications on VMAs after VM_SOFTDIRTY cleared"
  can_change_pte_writable_inverted,  // 2022, fixed by 76aefad628aa "mm/mprotect: fix soft-dirty check in can_change_pte_writable"
  swap_loses_soft_dirty,        // 2013, 179ef71cbc08 "mm: save soft-dirty bits on swapped pages"
  mremap_move_not_soft_dirty,   // move_ptes without pte_mksoft_dirty (mm/mremap.c:move_soft_dirty_pte)
  granular_split_drops_node,    // granular non_sd_reg: a split loses the node straddling the cut
  droppable_dirty_skip_and,     // dirty-skip for VM_DROPPABLE written `vm_flags && VM_DROPPABLE`
  scan_zapped_pte_not_written,  // v6.7-v7.1, 07b4377bdbe7 "fs/proc/task_mmu: fix PAGEMAP_SCAN written state for unpopulated ptes"
};

struct mutant_info {
  mutant m;
  std::string_view name;     // what --mutant takes
  std::string_view history;  // the bug, where it came from, what fixed it
};

inline constexpr std::array<mutant_info, 10> mutant_catalogue{{
    {mutant::new_vma_not_soft_dirty, "new-vma-not-soft-dirty",
     "new mappings without VM_SOFTDIRTY (2013, fixed by d9104d1ca966)"},
    {mutant::pte_hole_ignores_vma, "pte-hole-ignores-vma",
     "page-table holes report clean whatever VM_SOFTDIRTY says (v3.17, 2014, Peter Feiner)"},
    {mutant::gap_uses_next_vma_flag, "gap-uses-next-vma-flag",
     "unmapped gaps reported with the next VMA's VM_SOFTDIRTY (2014, fixed by 62c98294410d)"},
    {mutant::no_writenotify_after_clear, "no-writenotify-after-clear",
     "clear_refs does not restore write-notify on shared mappings (2014, fixed by 64e455079e1b)"},
    {mutant::can_change_pte_writable_inverted, "can-change-pte-writable-inverted",
     "mprotect's can_change_pte_writable tests soft-dirty the wrong way round (2022, fixed by 76aefad628aa)"},
    {mutant::swap_loses_soft_dirty, "swap-loses-soft-dirty",
     "swap entries do not carry soft-dirty (2013, fixed by 179ef71cbc08)"},
    {mutant::mremap_move_not_soft_dirty, "mremap-move-not-soft-dirty",
     "mremap moves PTEs without marking them soft-dirty (move_soft_dirty_pte missing)"},
    {mutant::granular_split_drops_node, "granular-split-drops-node",
     "granular non_sd_reg split drops the node straddling the split point"},
    {mutant::droppable_dirty_skip_and, "droppable-dirty-skip-and",
     "dirty-skip for droppable memory tests `vm_flags && VM_DROPPABLE` instead of `&`"},
    {mutant::scan_zapped_pte_not_written, "scan-zapped-pte-not-written",
     "PAGEMAP_SCAN's generic path reads a pte_none inside a PTE table (populated, then zapped) "
     "as not written (6.7 to 7.1, fixed by 07b4377bdbe7, July 2026)"},
}};

inline std::optional<mutant> mutant_by_name(std::string_view name) {
  for (const mutant_info& i : mutant_catalogue)
    if (i.name == name) return i.m;
  return std::nullopt;
}

inline std::string_view mutant_name(mutant m) {
  for (const mutant_info& i : mutant_catalogue)
    if (i.m == m) return i.name;
  return "none";
}

}  // namespace sdmc
