// How droppable memory (MAP_DROPPABLE, VM_DROPPABLE) escapes writeback: the two designs of the
// July 2024 review ("[PATCH v22 1/4] mm: add MAP_DROPPABLE ...", soft-dirty-bug-history B20).
// A model option, not a soft-dirty policy: it changes how a PTE's hardware dirty bit reaches
// the folio (PG_dirty), which no policy is asked about. Selected per mm_struct (`droppable`),
// like `bug`.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace sdmc {

enum class droppable_design : unsigned char {
  // Linux 6.12: droppable folios are never swap-backed (mm/rmap.c:folio_add_new_anon_rmap
  // 1435-1439) and try_to_unmap_one discards them "even if they've been dirtied" (1885-1895).
  // Every transfer site moves the PTE dirty bit to the folio as for any other VMA.
  swapbacked,
  // Linus's suggestion, Jason's diff <ZpAR0CgLc28gEkV3@zx2c4.com>: the transfer sites (zap,
  // the reclaim walks, migration) skip folio_mark_dirty when `vma->vm_flags & VM_DROPPABLE`,
  // so a droppable folio stays clean and not swap-backed, and reclaim discards it as a clean
  // lazyfree folio without a droppable special case.
  dirty_skip,
};

struct droppable_design_info {
  droppable_design d;
  std::string_view name;  // what --droppable takes
};

inline constexpr std::array<droppable_design_info, 2> droppable_designs{{
    {droppable_design::swapbacked, "swapbacked"},
    {droppable_design::dirty_skip, "dirty-skip"},
}};

inline std::optional<droppable_design> droppable_design_by_name(std::string_view name) {
  for (const droppable_design_info& i : droppable_designs)
    if (i.name == name) return i.d;
  return std::nullopt;
}

inline std::string_view droppable_design_name(droppable_design d) {
  for (const droppable_design_info& i : droppable_designs)
    if (i.d == d) return i.name;
  return "?";
}

}  // namespace sdmc
