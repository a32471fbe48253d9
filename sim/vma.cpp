// VMA merge, split and unmap: mm/vma.c.
#include "sim/kernel.hpp"

namespace sdmc {

bool kernel::is_mergeable_anon_vma(anon_vma_id proposed, const vma_ref* existing) {
  // mm/vma.c:is_mergeable_anon_vma. In this model every anon_vma_chain is singular when the VMA
  // has an anon_vma (the forked child exits at once) and empty otherwise.
  anon_vma_id theirs = existing ? existing->v.anon_vma : 0;
  bool singular = existing ? existing->v.anon_vma != 0 : false;
  if ((!proposed || !theirs) && (!existing || singular)) return true;
  return proposed == theirs;
}

namespace {
// The parts of mm/vma.c:is_mergeable_vma other than the flag comparison: same vm_file (the
// read-only open of a memfd is another struct file); mempolicy, uffd ctx (one per trace) and
// anon name are equal in the model whenever the flags are.
bool same_file(const vma_value& a, const vma_value& b) {
  return a.file == b.file && a.file_ro == b.file_ro;
}
}  // namespace

bool kernel::can_merge_after(const vma_ref& prev, const proposal& p) const {
  // mm/vma.c:can_vma_merge_after: prev->vm_pgoff + vma_pages(prev) == vmg->pgoff. With
  // adjacency (checked by the caller) that is equality of pgoff_delta.
  return pol_.flags_mergeable(mm, prev.v.vm_flags, p.v.vm_flags) && same_file(prev.v, p.v) &&
         is_mergeable_anon_vma(p.v.anon_vma, &prev) && prev.v.pgoff_delta == p.v.pgoff_delta;
}

bool kernel::can_merge_before(const vma_ref& next, const proposal& p) const {
  // mm/vma.c:can_vma_merge_before: next->vm_pgoff == vmg->pgoff + pglen.
  return pol_.flags_mergeable(mm, next.v.vm_flags, p.v.vm_flags) && same_file(next.v, p.v) &&
         is_mergeable_anon_vma(p.v.anon_vma, &next) && next.v.pgoff_delta == p.v.pgoff_delta;
}

std::optional<vma_ref> kernel::vma_merge_new_range(const proposal& p, merge_path path,
                                                   bool just_expand, bool commit) {
  // mm/vma.c:vma_merge_new_range
  if (p.v.vm_flags & VM_SPECIAL) return std::nullopt;
  // Every caller proposes a free range, so one lookup finds both neighbours.
  auto [prev, next] = mm.neighbours(p.start);
  if (prev && prev->vm_end != p.start) prev.reset();
  if (next && next->vm_start != p.end) next.reset();
  if (!prev && !next) return std::nullopt;
  bool left = prev && can_merge_after(*prev, p);
  // can_vma_merge_right: with a left merge, prev and next must be compatible with each other
  // too (are_anon_vmas_compatible).
  bool right = !just_expand && next && can_merge_before(*next, p) &&
               (!left || !prev->v.anon_vma || !next->v.anon_vma ||
                prev->v.anon_vma == next->v.anon_vma);
  if (!left && !right) return std::nullopt;

  // vma_expand: the target keeps its own vm_area_struct and flags; a removed next donates its
  // anon_vma (dup_anon_vma) when the target has none.
  const vma_ref& target = left ? *prev : *next;
  vma_ref res{left ? prev->vm_start : p.start, right ? next->vm_end : p.end, target.v};
  boost::container::small_vector<vma_value, 3> parts{target.v};
  if (left && right) {
    if (!res.v.anon_vma) res.v.anon_vma = next->v.anon_vma;
    parts.push_back(next->v);
  }
  parts.push_back(p.v);
  res.v.vm_flags = pol_.merged_flags(path, res.v.vm_flags, {parts.data(), parts.size()});
  if (commit) mm.set_vma(res.vm_start, res.vm_end, res.v);
  // The proposed range is new (or, for copy_vma, carried by on_move): only a removed next is
  // absorbed. Without `commit` the caller stores `res` right after.
  if (left && right) {
    const std::uint32_t absorbed[] = {next->v.vma_id};
    merge_handover(res, absorbed, commit);
  }
  return res;
}

kernel::modified kernel::vma_merge_existing_range(const vma_ref& vma, pfn_t start, pfn_t end,
                                                  vm_flags_t newflags) {
  // mm/vma.c:vma_merge_existing_range
  modified out;
  bool left_side = start == vma.vm_start, right_side = end == vma.vm_end;
  if ((newflags & VM_SPECIAL) || (!left_side && !right_side)) return out;
  proposal p{start, end, vma.v};
  p.v.vm_flags = newflags;
  auto prev = left_side ? mm.vma_prev(start) : std::nullopt;
  auto next = right_side ? mm.find_vma_from(end) : std::nullopt;
  if (prev && prev->vm_end != start) prev.reset();
  if (next && next->vm_start != end) next.reset();
  bool merge_left = prev && can_merge_after(*prev, p);
  // can_vma_merge_right: with a left merge, prev and next must also be compatible with each
  // other (are_anon_vmas_compatible).
  bool merge_right = next && can_merge_before(*next, p) &&
                     (!merge_left || !prev->v.anon_vma || !next->v.anon_vma ||
                      prev->v.anon_vma == next->v.anon_vma);
  if (!merge_left && !merge_right) return out;

  vma_ref res;
  if (merge_left && merge_right) {
    res = {prev->vm_start, next->vm_end, prev->v};
    if (!res.v.anon_vma) res.v.anon_vma = next->v.anon_vma ? next->v.anon_vma : vma.v.anon_vma;
    out.parts = {prev->v, vma.v, next->v};
    mm.set_vma(res.vm_start, res.vm_end, res.v);
  } else if (merge_left) {
    res = {prev->vm_start, end, prev->v};
    if (!res.v.anon_vma) res.v.anon_vma = vma.v.anon_vma;
    out.parts = {prev->v, vma.v};
    mm.set_vma(res.vm_start, res.vm_end, res.v);  // vma shrinks to [end, vm_end) if it survives
  } else {
    res = {start, next->vm_end, next->v};
    if (!res.v.anon_vma) res.v.anon_vma = vma.v.anon_vma;
    out.parts = {next->v, vma.v};
    mm.set_vma(res.vm_start, res.vm_end, res.v);  // vma shrinks to [vm_start, start) if it survives
  }
  out.vma = res;
  out.merged = true;
  // The absorbed VMAs: every part but the target (a shrunk vma keeps its id).
  boost::container::small_vector<std::uint32_t, 2> absorbed;
  for (const vma_value& part : out.parts)
    if (part.vma_id != res.v.vma_id) absorbed.push_back(part.vma_id);
  // The callers store flags from out.vma: it must carry a recomputed vm_page_prot.
  if (merge_handover(res, std::span<const std::uint32_t>(absorbed.data(), absorbed.size()), true))
    out.vma = *mm.find_vma(res.vm_start);
  return out;
}

bool kernel::merge_handover(const vma_ref& merged, std::span<const std::uint32_t> absorbed,
                            bool stored) {
  const bool tracked_before = pol_.vma_wants_sd_writenotify(mm, merged);
  pol_.on_merge(mm, merged, absorbed);
  // An unstored target (mmap's merge) gets vm_page_prot from its caller (mm/vma.c:
  // __mmap_region ends in vma_set_page_prot).
  return stored && prot_follows_handover(merged, tracked_before);
}

bool kernel::prot_follows_handover(const vma_ref& vma, bool tracked_before) {
  if (!pol_.merge_sets_page_prot() || tracked_before || !pol_.vma_wants_sd_writenotify(mm, vma))
    return false;
  vma_set_page_prot(vma.vm_start);
  return true;
}

int kernel::split_vma(pfn_t at, bool new_below, bool check_count) {
  // mm/vma.c:split_vma refuses at sysctl_max_map_count; __split_vma (munmap) does not.
  if (check_count && mm.map_count() >= sysctl_max_map_count) {
    auto v = mm.find_vma(at);
    if (v && v->vm_start != at) return -ENOMEM;
  }
  std::optional<vma_ref> lo, hi;
  mm.split_vma(at, new_below, [&](vma_ref& l, vma_ref& h) { lo = l; hi = h; });
  if (lo) pol_.on_split(mm, *lo, *hi);
  return 0;
}

kernel::modified kernel::vma_modify(const vma_ref& vma, pfn_t start, pfn_t end,
                                    vm_flags_t newflags) {
  // mm/vma.c:vma_modify: first try to merge, otherwise split off the affected range.
  modified m = vma_merge_existing_range(vma, start, end, newflags);
  if (m.merged) return m;
  if (vma.vm_start < start)
    if (int e = split_vma(start, true)) return modified{std::nullopt, e, false, {}};
  if (vma.vm_end > end)
    if (int e = split_vma(end, false)) return modified{std::nullopt, e, false, {}};
  m.vma = mm.find_vma(start);
  return m;
}

vma_ref kernel::set_flags(pfn_t vm_start, vm_flags_t flags, bool set_page_prot) {
  auto m = *mm.find_vma_mut(vm_start);
  m.v->vm_flags = flags;
  if (set_page_prot) m.v->page_prot_write = page_prot_write(vma_ref{m.vm_start, m.vm_end, *m.v});
  return vma_ref{m.vm_start, m.vm_end, *m.v};
}

bool kernel::page_prot_write(const vma_ref& vma) const {
  // mm/mmap.c:vma_set_page_prot + mm/vma.c:vma_wants_writenotify for shmem (no page_mkwrite,
  // no writeback): shared-writable VMAs get a writable vm_page_prot unless soft-dirty tracking
  // or uffd-wp needs write faults. Private mappings always get the COW (read-only) protection.
  vm_flags_t f = vma.v.vm_flags;
  if ((f & (VM_WRITE | VM_SHARED)) != (VM_WRITE | VM_SHARED)) return false;
  // mutant no_writenotify_after_clear: before 64e455079e1b vma_wants_writenotify had no
  // soft-dirty clause.
  const bool sd =
      mm.bug != mutant::no_writenotify_after_clear && pol_.vma_wants_sd_writenotify(mm, vma);
  return !(sd || (f & VM_UFFD_WP));
}

void kernel::vma_set_page_prot(pfn_t vm_start) {
  auto m = *mm.find_vma_mut(vm_start);
  m.v->page_prot_write = page_prot_write(vma_ref{m.vm_start, m.vm_end, *m.v});
}

void kernel::zap_ptes(const vma_ref& vma, pfn_t start, pfn_t end, bool keep_uffd_markers) {
  // mm/memory.c:zap_pte_range. Soft-dirty is lost with the PTE. For file/shmem VMAs under
  // uffd-wp, a zap that is not an unmap leaves a marker where the PTE was still protected
  // (mm_inline.h:pte_install_uffd_wp_if_needed); anon VMAs never get markers.
  bool markers = keep_uffd_markers && !vma.is_anonymous() && (vma.v.vm_flags & VM_UFFD_WP);
  zap_transfer_dirty(vma, start, end);
  mm.update_ptes(start, end, [&](const pte_t& p) {
    if (markers && p.uffd_wp) return make_marker();
    return pte_t{};
  });
  // A file or shmem page stays in the page cache: re-read, it maps clean (a COWed private
  // copy is gone: the file's content comes back without a store either).
  if (!vma.is_anonymous() && obs) obs->zapped_kept(start, end);
}

int kernel::do_munmap(pfn_t start, pfn_t end) {
  // mm/vma.c:do_vmi_munmap -> vms_gather_munmap_vmas: the split at the start fails when it
  // would push map_count over the limit; the split at the end never does.
  auto found = mm.find_vma_from(start);
  if (!found || found->vm_start >= end) return 0;
  const vma_ref& first = *found;
  if (first.vm_start < start && end < first.vm_end && mm.map_count() >= sysctl_max_map_count)
    return -ENOMEM;
  split_vma(start, true, false);
  split_vma(end, false, false);
  unmap_region(start, end);
  return 0;
}

void kernel::unmap_region(pfn_t start, pfn_t end) {
  // unmap_vmas -> zap_pte_range over each VMA of the range.
  mm.for_each_vma(start, end, [&](const vma_ref& vma) {
    zap_transfer_dirty(vma, std::max(start, vma.vm_start), std::min(end, vma.vm_end));
  });
  pol_.on_unmap(mm, start, end);
  mm.clear_ptes(start, end);
  mm.erase_vmas(start, end);
  mm.free_tables(start, end);
  if (obs) obs->unmapped(start, end);
}

Result kernel::sys_munmap(std::uint64_t addr, std::uint64_t len) {
  // mm/vma.c:do_vmi_munmap
  if (offset_in_page(addr) || addr > TASK_SIZE || len > TASK_SIZE - addr)
    return err(EINVAL);
  len = page_align(len);
  if (len == 0) return err(EINVAL);
  pfn_t start = addr_to_pfn(addr), end = start + addr_to_pfn(len);
  if (int e = do_munmap(start, end)) return err(-e);
  return ok(0);
}

}  // namespace sdmc
