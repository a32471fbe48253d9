// The one variation point between soft-dirty designs. Operations (sim/) implement Linux 6.12's
// VMA and PTE rules once; wherever a design would change a rule, they ask the policy.
//
// upstream-6.12 (model/policies/upstream_612.cpp) answers exactly as Linux 6.12.117 does. Later
// designs (sticky, precise, granular non_sd_reg, uffd-wp) are further implementations of this
// interface and must not need `if (policy == ...)` anywhere else.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/mm.hpp"

namespace sdmc {

// Which caller of a merge primitive produced a merged VMA (semantics 2.3: the result's
// VM_SOFTDIRTY depends on the caller, not on the primitive).
enum class merge_path {
  mmap,           // mm/mmap.c:__mmap_region -> vma_merge_new_range
  brk,            // mm/mmap.c:do_brk_flags (VMG_FLAG_JUST_EXPAND)
  mremap_expand,  // mm/vma.c:vma_merge_extend
  mremap_move,    // mm/vma.c:copy_vma
  mprotect,       // mm/mprotect.c:mprotect_fixup -> vma_modify_flags
  madvise,        // mm/madvise.c:madvise_update_vma
  mlock,          // mm/mlock.c:mlock_fixup
  uffd,           // mm/userfaultfd.c:userfaultfd_register_range
};

class policy {
 public:
  virtual ~policy() = default;
  virtual std::string_view name() const = 0;

  // mm/vma.c:is_mergeable_vma's flag comparison. `a` are the existing VMA's flags, `b` the
  // proposed ones.
  virtual bool flags_mergeable(const mm_struct& mm, vm_flags_t a, vm_flags_t b) const = 0;

  // Flags of a VMA a merge produced: `flags` is what the merge path leaves (the target's own
  // flags, or what the caller resets them to), `parts` the values of every VMA merged into it
  // (the target first) and, for merges of a new range, the proposed value.
  virtual vm_flags_t merged_flags(merge_path path, vm_flags_t flags,
                                  std::span<const vma_value> parts) const {
    return flags;
  }

  // mm/internal.h:vma_soft_dirty_enabled for the page `pfn` of `vma`: writes there must fault.
  virtual bool tracking_enabled(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const = 0;
  // The pages of the VMA where tracking_enabled holds, as intervals.
  virtual pset vma_tracked_pages(const mm_struct& mm, const vma_ref& vma) const {
    pset out;
    if (tracking_enabled(mm, vma, vma.vm_start)) out += prange(vma.vm_start, vma.vm_end);
    return out;
  }
  // Does any page of the VMA need write faults for soft-dirty (the soft-dirty clause of
  // mm/vma.c:vma_wants_writenotify)?
  virtual bool vma_wants_sd_writenotify(const mm_struct& mm, const vma_ref& vma) const = 0;
  // The VMA's contribution to pagemap bit 55 for `pfn` (fs/proc/task_mmu.c:pte_to_pagemap_entry).
  virtual bool vma_reports_dirty(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const = 0;
  // True when vma_reports_dirty and tracking_enabled vary inside a VMA (so callers cannot
  // sample one page).
  virtual bool has_page_granular_state() const { return false; }
  // The same for the whole VMA, as intervals (what the oracle judges; cost follows intervals).
  virtual pset vma_dirty_pages(const mm_struct& mm, const vma_ref& vma) const {
    pset out;
    if (vma_reports_dirty(mm, vma, vma.vm_start)) out += prange(vma.vm_start, vma.vm_end);
    return out;
  }

  // The flags an mmap or brk proposes for merging. upstream-6.12 sets VM_SOFTDIRTY only after
  // the merge (__mmap_region:1572); a design that lets the flag decide merges marks the new
  // range before.
  virtual vm_flags_t proposed_new_flags(const mm_struct& mm, vm_flags_t flags) const { return flags; }
  // Does clear_refs, after clearing, try to merge every VMA with its neighbours?
  virtual bool remerge_after_clear_refs() const { return false; }
  // Does the design promise the rule that keeps writes tracked (sim/invariants.hpp): every
  // page it reports clean has its present PTE write-protected or soft-dirty, and no tracked
  // shared-writable VMA has a writable vm_page_prot? upstream-6.12 breaks it by design (its
  // merges drop VM_SOFTDIRTY without write-protecting, semantics 2.4).
  virtual bool keeps_writes_tracked() const { return true; }
  // Does the design promise precision: no page reads soft-dirty that was neither stored to nor
  // newly mapped, beyond what the kernel's own rules mandate (props/properties.hpp:
  // excused_false_positive)? granular and uffd-wp do (issue 3); designs that keep the bit per
  // VMA cannot, a merge or a new mapping next to clean memory dirties all of it.
  virtual bool promises_precision() const { return false; }

  // A range became newly mapped in `v` (mmap and brk completion set VM_SOFTDIRTY on the whole
  // resulting VMA, mm/mmap.c:__mmap_region and do_brk_flags).
  virtual void mark_new(vma_value& v, pfn_t vm_start, pfn_t vm_end, pfn_t new_start,
                        pfn_t new_end) const = 0;
  // clear_refs at VMA level (fs/proc/task_mmu.c:clear_refs_write). Returns true when it changed
  // the VMA, in which case vm_page_prot is recomputed.
  virtual bool clear_vma(mm_struct& mm, vma_value& v, pfn_t vm_start, pfn_t vm_end) const = 0;

  // Per-VMA state that follows the VMA through splits, merges, moves and unmaps (granular
  // non_sd_reg lists, kept in mm.non_sd_regs keyed by vma_id):
  // - after __split_vma made `lo` and `hi` out of one VMA;
  virtual void on_split(mm_struct& mm, const vma_ref& lo, const vma_ref& hi) const {}
  // - after a merge stored `merged` (the target's vm_area_struct) and removed or shrank the
  //   VMAs `absorbed_ids` (a shrunk one keeps its id and what lies outside `merged`);
  virtual void on_merge(mm_struct& mm, const vma_ref& merged,
                        std::span<const std::uint32_t> absorbed_ids) const {}
  //   Does a merge that hands clean per-VMA state to a VMA which had none (and so no
  //   write-notify) recompute its vm_page_prot? 6.12's merges never do (mm/vma.c:commit_merge;
  //   semantics 2.4); a design whose tracking moves with the VMAs must, or a store through the
  //   target's writable vm_page_prot goes unseen.
  virtual bool merge_sets_page_prot() const { return false; }
  // - after copy_vma placed [src_start, src_end) of `src` at `moved` (a new VMA or the one
  //   it merged into), shifted by delta_pages; the source range is unmapped afterwards;
  virtual void on_move(mm_struct& mm, const vma_ref& src, pfn_t src_start, pfn_t src_end,
                       const vma_ref& moved, std::int64_t delta_pages) const {}
  // - before the whole VMAs inside [start,end) are removed (munmap after its splits).
  virtual void on_unmap(mm_struct& mm, pfn_t start, pfn_t end) const {}

  // A consumer emulating soft-dirty with async userfaultfd write-protect (the uffd-wp design):
  // every anonymous and shmem mapping is registered and write-protected when it is created,
  // clear_refs becomes a write-protect reset of the whole address space, and bit 55 reads as
  // PAGE_IS_WRITTEN.
  virtual bool emulates_soft_dirty_with_uffd_wp() const { return false; }
  // Does bit 55 mark a new mapping as changed (VM_SOFTDIRTY or an uncovered range)? The uffd-wp
  // design has no such signal: its lost new mappings are a property of the design, counted
  // in the table but not a soundness violation.
  virtual bool signals_new_mappings() const { return !emulates_soft_dirty_with_uffd_wp(); }

  // --- metrics ------------------------------------------------------------------------
  // Bytes of per-VMA state the design adds to the kernel's (granular: list heads and nodes).
  virtual std::uint64_t extra_metadata_bytes(const mm_struct& mm) const { return 0; }
  // Number of non_sd_reg nodes (granular designs).
  virtual std::uint64_t non_sd_reg_nodes(const mm_struct& mm) const { return 0; }
};

std::unique_ptr<policy> make_policy(std::string_view name);  // nullptr for an unknown name
std::vector<std::string> policy_names();

}  // namespace sdmc
