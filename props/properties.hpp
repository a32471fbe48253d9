// The properties, as plain functions of a trace: replay it on the model and report the first
// operation after which the property does not hold. RapidCheck (props/*_prop.cpp), the mutant
// campaign (props/campaign.hpp) and `sdmc check` call them alike (library sdmc_props, free of
// RapidCheck).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "model/mutant.hpp"
#include "model/policy.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::props {

// What failed, and after which line (index into Trace::lines).
struct finding {
  enum class kind {
    false_negative, lost_new_mapping, unmapped_dirty, false_positive, moved_clean, invariant,
    written_false_negative
  };
  std::size_t line = 0;
  std::string what;
  kind k = kind::invariant;
};
// "false negative", "lost new mapping", "unmapped page reads soft-dirty", "false positive",
// "moved page reads clean", "invariant", "PAGE_IS_WRITTEN false negative".
std::string_view kind_name(finding::kind k);

struct property_options {
  mutant bug = mutant::none;
  // Soundness, judged by the ghost oracle after every line: no false negative, and no lost new
  // mapping where the policy carries a per-mapping signal (carries_new_mapping_signal); and,
  // under every design, no page stored to since its uffd-wp reset reading PAGE_IS_WRITTEN
  // clear (oracle::judge_written: the write-protect mechanism beside soft-dirty).
  bool soundness = true;
  // Nothing reads soft-dirty outside every VMA (pagemap_pte_hole; the oracle counts such a
  // page as a false positive). Part of the mutant campaign, so that every mutant of the
  // catalogue shows up in a replay's oracle counts.
  bool unmapped_clean = false;
  // Every page an mremap moved with a PTE (present or swap) reads soft-dirty at its
  // destination right after the move (mm/mremap.c:move_ptes -> move_soft_dirty_pte; B0 of the
  // bug history). The oracle's relocation exception (sim/oracle.hpp) covers moved pages as a
  // whole, so this is the check that sees what happens to their PTEs. Whole PTE tables moved
  // by move_normal_pmd keep their bits and are not checked. Under uffd-wp, where bit 55 is
  // PAGE_IS_WRITTEN, the PTEs' own soft-dirty bits are checked.
  bool moves_mark_ptes = true;
  // check_invariants (sim/invariants.hpp) after every line.
  bool invariants = false;
  // Precision: no false positive beyond those the kernel's own rules mandate
  // (excused_false_positive).
  bool precision = false;
};

// Why a false positive that appeared right after `op` is the kernel's rule and not the
// design's, or nullptr. The exceptions, each with the kernel function behind it:
//  - mlock / munlock / mprotect populate a private writable VM_LOCKED range with write faults
//    (mm/gup.c:populate_vma_page_range sets FOLL_WRITE to break COW; mm/mprotect.c:
//    mprotect_fixup populates a locked VMA that becomes writable), and every write fault ends
//    in pte_mkdirty, which sets soft-dirty on x86 (arch/x86/include/asm/pgtable.h);
//  - for the uffd-wp design (bit 55 = PAGE_IS_WRITTEN): a zap leaves pte_none inside a page
//    table, which fs/proc/task_mmu.c:pagemap_page_category reports PAGE_IS_WRITTEN (MADV_
//    DONTNEED "is treated as dirtying", Documentation/admin-guide/mm/userfaultfd.rst):
//    madvise dontneed / free / pageout / remove, reclaim, and the source of an mremap with
//    MREMAP_DONTUNMAP (mm/mremap.c:move_ptes moves the PTEs out of a range that stays mapped).
const char* excused_false_positive(const policy& pol, const trace::Op& op);

// uffd-wp carries no per-mapping signal by design: a new mapping reads PAGE_IS_WRITTEN only
// where written (its lost new mappings are counted in the table instead).
bool carries_new_mapping_signal(const policy& pol);

std::optional<finding> check_trace(const policy& pol, const trace::Trace& t,
                                   const property_options& opt);

}  // namespace sdmc::props
