// How the VMAs of one point of a trace became those of the next: the edges of a storyboard.
//
// vma_value.vma_id is the identity of the vm_area_struct object. mm/vma.c:__split_vma keeps it
// on one half and gives the other a new one (vm_area_dup); a merge keeps the target's; an
// mremap move makes a new VMA (copy_vma) or grows a neighbour. So an old VMA leads to a new one
// when they share the id, when they overlap outside what the operation mapped anew (a split
// half), or when the operation moved the old one's pages into the new one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "viz/state.hpp"

namespace sdmc::viz {

// What an operation did besides changing VMAs in place.
struct step_effects {
  pset mapped_new;  // ranges the kernel reported newly mapped (observer::mapped_new)
  // An mremap that moved: its source range and the page offset to its destination.
  std::optional<prange> moved_from;
  std::int64_t moved_by = 0;
};

struct link {
  std::size_t from = 0, to = 0;  // indices into before.vmas and after.vmas
  std::string kind;    // same, changed, resized, split, merge, move
  std::string label;   // kind-specific words and the flag change, e.g. "merge -sd"
};

std::vector<link> lineage(const lane_state& before, const lane_state& after, const step_effects& fx);

// The difference of two vm_flags as /proc/PID/smaps mnemonics: "+sd -wr", "" when equal.
std::string flag_change(vm_flags_t before, vm_flags_t after);
// The same for a whole VMA value: the flags, then what else decides merges and write faults
// ("+anon_vma", "+writable prot", "pgoff", "file").
std::string value_change(const vma_value& before, const vma_value& after);

}  // namespace sdmc::viz
