// Structural invariants of the model, checked after every operation by the properties
// (props/*_prop.cpp), `sdmc check` and the explorer. Pure and free of I/O.
//
//  - VMAs: non-empty, sorted, disjoint, each with its own non-zero vma_id (the key of the
//    granular design's lists);
//  - PTEs: every non-none PTE lies inside a VMA and inside an allocated page table;
//  - non_sd_reg lists (mm.non_sd_regs, granular designs): nodes non-empty, sorted, disjoint,
//    inside their VMA, and no list for a vma_id that no longer exists;
//  - pagemap: bit 55 reads 0 at every address outside a VMA (fs/proc/task_mmu.c:
//    pagemap_pte_hole, since 62c98294410d "unmapped addresses between VMAs are clean");
//  - the rule that keeps writes tracked, for every policy that promises it
//    (policy::keeps_writes_tracked; upstream-6.12 breaks it by design, semantics 2.4): every
//    page reported clean has its present PTE write-protected or already soft-dirty, and no
//    shared-writable VMA whose soft-dirty state needs write faults has a writable
//    vm_page_prot (mm/vma.c:vma_wants_writenotify);
//  - shared memory: a page written through a shared mapping is never lost
//    (sim/state_check.hpp:shmem_data_lost; the MAP_DROPPABLE dirty-skip design must keep it).
#pragma once

#include <optional>
#include <string>

#include "sim/kernel.hpp"

namespace sdmc {

// The first violated invariant, described with the addresses involved; nullopt when all hold.
std::optional<std::string> check_invariants(const kernel& k);

}  // namespace sdmc
