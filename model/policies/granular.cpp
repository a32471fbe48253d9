// granular: the Dec 2022 non_sd_reg RFC ("[PATCH RFC] mm: implement granular soft-dirty vma
// support", <20221220162606.1595355-1-usama.anjum@collabora.com>). Function names in the
// comments are the RFC's (nsdr_clone, nsdr_move, nsdr_adjust_new_first/after, nsdr_clear).
#include "model/policies/granular.hpp"

#include <algorithm>

#include "model/kernel_layout.hpp"

namespace sdmc {

bool granular::flags_mergeable(const mm_struct&, vm_flags_t a, vm_flags_t b) const {
  // VM_SOFTDIRTY no longer exists: merges compare the remaining flags (mm/vma.c:is_mergeable_vma).
  return ((a ^ b) & ~VM_SOFTDIRTY) == 0;
}

const granular::list* granular::nodes(const mm_struct& mm, std::uint32_t vma_id) {
  auto it = mm.non_sd_regs.find(vma_id);
  return it == mm.non_sd_regs.end() ? nullptr : &it->second;
}

pset granular::covered(const mm_struct& mm, const vma_ref& vma) {
  pset out;
  if (const list* l = nodes(mm, vma.v.vma_id))
    for (const non_sd_reg& r : *l) out += prange(r.start, r.end);
  return out & prange(vma.vm_start, vma.vm_end);
}

bool granular::tracking_enabled(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const {
  // RFC is_vma_addr_sd(): a covered (clean) address needs write faults to become dirty again.
  if (const list* l = nodes(mm, vma.v.vma_id))
    for (const non_sd_reg& r : *l)
      if (r.start <= pfn && pfn < r.end) return true;
  return false;
}

pset granular::vma_tracked_pages(const mm_struct& mm, const vma_ref& vma) const {
  return covered(mm, vma);
}

bool granular::vma_wants_sd_writenotify(const mm_struct& mm, const vma_ref& vma) const {
  // Write-notify follows coverage: any clean range needs write faults on a shared mapping.
  const list* l = nodes(mm, vma.v.vma_id);
  return l && !l->empty();
}

bool granular::vma_reports_dirty(const mm_struct& mm, const vma_ref& vma, pfn_t pfn) const {
  return !tracking_enabled(mm, vma, pfn);
}

pset granular::vma_dirty_pages(const mm_struct& mm, const vma_ref& vma) const {
  pset out;
  out += prange(vma.vm_start, vma.vm_end);
  return out - covered(mm, vma);
}

void granular::store(mm_struct& mm, std::uint32_t vma_id, list l) const {
  std::sort(l.begin(), l.end(), [](const non_sd_reg& a, const non_sd_reg& b) { return a.start < b.start; });
  if (coalesce_) {
    list joined;
    for (const non_sd_reg& r : l) {
      if (!joined.empty() && joined.back().end >= r.start) joined.back().end = std::max(joined.back().end, r.end);
      else joined.push_back(r);
    }
    l = std::move(joined);
  }
  if (l.empty()) mm.non_sd_regs.erase(vma_id);
  else mm.non_sd_regs[vma_id] = std::move(l);
}

bool granular::clear_vma(mm_struct& mm, vma_value& v, pfn_t vm_start, pfn_t vm_end) const {
  // RFC clear_refs_write -> nsdr_clear: the list becomes one node covering the VMA. Returns
  // whether coverage changed, so that vm_page_prot regains write-notify.
  const list* l = nodes(mm, v.vma_id);
  const bool was_whole = l && l->size() == 1 && l->front() == non_sd_reg{vm_start, vm_end};
  if (was_whole) return false;
  mm.non_sd_regs[v.vma_id] = list{non_sd_reg{vm_start, vm_end}};
  return true;
}

void granular::on_split(mm_struct& mm, const vma_ref& lo, const vma_ref& hi) const {
  // RFC nsdr_adjust_new_first / nsdr_adjust_new_after: nodes below the split point stay with
  // `lo`, nodes above go to `hi`, a node straddling it is cut in two.
  const std::uint32_t old_id = mm.non_sd_regs.count(lo.v.vma_id) ? lo.v.vma_id : hi.v.vma_id;
  auto it = mm.non_sd_regs.find(old_id);
  if (it == mm.non_sd_regs.end()) return;
  list all = std::move(it->second);
  mm.non_sd_regs.erase(it);
  const pfn_t at = hi.vm_start;
  list below, above;
  for (const non_sd_reg& r : all) {
    if (r.start < at && at < r.end && mm.bug == mutant::granular_split_drops_node)
      continue;  // mutant granular_split_drops_node: the straddling node is lost
    if (r.start < at) below.push_back({r.start, std::min(r.end, at)});
    if (r.end > at) above.push_back({std::max(r.start, at), r.end});
  }
  store(mm, lo.v.vma_id, std::move(below));
  store(mm, hi.v.vma_id, std::move(above));
}

void granular::on_merge(mm_struct& mm, const vma_ref& merged,
                        std::span<const std::uint32_t> absorbed_ids) const {
  // vma_merge: the lists of the VMAs merged into the target are concatenated to its list; a
  // VMA that only shrank keeps the nodes outside the merged range.
  list target;
  if (const list* l = nodes(mm, merged.v.vma_id)) target = *l;
  for (std::uint32_t id : absorbed_ids) {
    auto it = mm.non_sd_regs.find(id);
    if (it == mm.non_sd_regs.end()) continue;
    list rest;
    for (const non_sd_reg& r : it->second) {
      pfn_t s = std::max(r.start, merged.vm_start), e = std::min(r.end, merged.vm_end);
      if (s < e) target.push_back({s, e});
      if (r.start < merged.vm_start) rest.push_back({r.start, std::min(r.end, merged.vm_start)});
      if (r.end > merged.vm_end) rest.push_back({std::max(r.start, merged.vm_end), r.end});
    }
    mm.non_sd_regs.erase(it);
    store(mm, id, std::move(rest));
  }
  store(mm, merged.v.vma_id, std::move(target));
}

void granular::on_move(mm_struct& mm, const vma_ref& src, pfn_t src_start, pfn_t src_end,
                       const vma_ref& moved, std::int64_t delta) const {
  // RFC nsdr_move (copy_vma): the nodes of the moved range follow it, shifted; the source
  // range is unmapped afterwards, which drops its own nodes. A grown tail stays uncovered.
  //
  // The nodes are read from the VMA that maps the source range now, not by src's id: when the
  // source was never faulted in, copy_vma's merge can absorb it as the `next` of the
  // destination (mm/vma.c:copy_vma, "Source vma may have been merged into new_vma";
  // vma_merge_new_range -> vma_expand removes next), and on_merge has already handed its
  // nodes to `moved`. Looking them up by src's id found nothing there, so the moved range
  // lost its nodes in that one orientation only (the source as prev, or as next without a
  // prev to merge, kept them): the model contradicted its own rule above, and the granular
  // kernel (kernel/patches/granular, mm/mremap.c:move_vma copies the ranges before
  // copy_vma) carries them in every case. Found by `sdmc kernel-diff --series granular`:
  // `mmap X 6p rwx private; clear_refs; mremap X+5p 3p 1p maymove fixed X+4p`.
  const auto holder = mm.find_vma(src_start);
  const list* l = nodes(mm, holder ? holder->v.vma_id : src.v.vma_id);
  if (!l) return;
  list add;
  for (const non_sd_reg& r : *l) {
    pfn_t s = std::max(r.start, src_start), e = std::min(r.end, src_end);
    if (s < e) add.push_back({pfn_t(std::int64_t(s) + delta), pfn_t(std::int64_t(e) + delta)});
  }
  if (add.empty()) return;
  list target;
  if (const list* t = nodes(mm, moved.v.vma_id)) target = *t;
  target.insert(target.end(), add.begin(), add.end());
  store(mm, moved.v.vma_id, std::move(target));
}

void granular::on_unmap(mm_struct& mm, pfn_t start, pfn_t end) const {
  // The VMAs of [start,end) are freed whole (munmap split them first): so are their lists.
  mm.for_each_vma(start, end, [&](const vma_ref& v) { mm.non_sd_regs.erase(v.v.vma_id); });
}

std::uint64_t granular::non_sd_reg_nodes(const mm_struct& mm) const {
  std::uint64_t n = 0;
  for (const auto& [id, l] : mm.non_sd_regs) n += l.size();
  return n;
}

std::uint64_t granular::extra_metadata_bytes(const mm_struct& mm) const {
  // The RFC's `struct list_head non_sd_reg` in every vm_area_struct, and one kmalloc'd
  // `struct non_sd_reg` per clean range (sizes measured: model/kernel_layout.hpp).
  return mm.map_count() * kernel_layout::list_head + non_sd_reg_nodes(mm) * kernel_layout::non_sd_reg;
}

}  // namespace sdmc
