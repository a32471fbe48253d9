// sim/'s rules for private anonymous memory, restated on the compact state. Each function
// names the sim/ function (and so the kernel function) it follows; where the model takes a
// branch the compact state cannot reach (files and shmem, VM_LOCKED, MAP_DROPPABLE,
// MADV_FREE's lazyfree folios, MREMAP_DONTUNMAP), it is left out and rules::unsupported keeps
// such searches away.
#include "sim/compact/rules.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace sdmc::compact {

namespace {
constexpr vm_flags_t VM_MAY_ALL = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

// Is the design's per-page state granular's non_sd_reg lists, which vm::nsd_* restate? Asked
// of the policy: clear_vma gives a VMA one node covering it, and a covered page is tracked and
// reads clean.
bool non_sd_reg_design(const policy& pol) {
  if (!pol.has_page_granular_state()) return false;
  mm_struct mm;
  vma_value v;
  v.vm_flags = vm_flags_of(F_READ | F_WRITE);
  v.vma_id = mm.new_vma_id();
  const pfn_t a = 16, b = 20;
  if (!pol.clear_vma(mm, v, a, b) || pol.non_sd_reg_nodes(mm) != 1) return false;
  const vma_ref ref{a, b, v};
  return pol.tracking_enabled(mm, ref, a + 1) && !pol.vma_reports_dirty(mm, ref, a + 1) &&
         !pol.tracking_enabled(mm, ref, b);
}

// Does the design join the touching nodes of one list (granular-coalesce)? Two touching VMAs,
// each cleared (one node each), merged.
bool coalesces(const policy& pol) {
  mm_struct mm;
  vma_value x;
  x.vm_flags = vm_flags_of(F_READ | F_WRITE);
  x.vma_id = mm.new_vma_id();
  vma_value y = x;
  y.vma_id = mm.new_vma_id();
  pol.clear_vma(mm, x, 16, 18);
  pol.clear_vma(mm, y, 18, 20);
  const std::uint32_t absorbed[] = {y.vma_id};
  pol.on_merge(mm, vma_ref{16, 20, x}, absorbed);
  return pol.non_sd_reg_nodes(mm) == 1;
}
}  // namespace

vm_flags_t vm_flags_of(std::uint8_t b) {
  return VM_MAY_ALL | (b & F_READ ? VM_READ : 0) | (b & F_WRITE ? VM_WRITE : 0) |
         (b & F_ACCOUNT ? VM_ACCOUNT : 0) | (b & F_SOFTDIRTY ? VM_SOFTDIRTY : 0) |
         (b & F_RAND_READ ? VM_RAND_READ : 0) | (b & F_UFFD_WP ? VM_UFFD_WP : 0) |
         (b & F_SHARED ? VM_SHARED | VM_MAYSHARE : 0);
}

std::uint8_t flag_bits_of(vm_flags_t f) {
  const vm_flags_t shared = f & (VM_SHARED | VM_MAYSHARE);
  if ((f & VM_MAY_ALL) != VM_MAY_ALL || (shared && shared != (VM_SHARED | VM_MAYSHARE)) ||
      (f & ~(VM_MAY_ALL | VM_READ | VM_WRITE | VM_ACCOUNT | VM_SOFTDIRTY | VM_RAND_READ | VM_UFFD_WP |
             VM_SHARED | VM_MAYSHARE)))
    throw std::logic_error("compact engine: vm_flags " + vm_flags_smaps(f) +
                           " outside what its state holds (a policy set a flag it does not know)");
  return std::uint8_t((f & VM_READ ? F_READ : 0) | (f & VM_WRITE ? F_WRITE : 0) |
                      (f & VM_ACCOUNT ? F_ACCOUNT : 0) | (f & VM_SOFTDIRTY ? F_SOFTDIRTY : 0) |
                      (f & VM_RAND_READ ? F_RAND_READ : 0) | (f & VM_UFFD_WP ? F_UFFD_WP : 0) |
                      (shared ? F_SHARED : 0));
}

void narrow_state_overflow() {
  throw std::logic_error("compact engine: a memory file's field set on the state without memory files "
                         "(an alphabet that maps memory files needs compact::state)");
}

// The operations on one state. VMAs are kept sorted in s.vma[0, s.nvma).
template <class S>
struct vm {
  using cvma = typename S::vma_type;
  S& s;
  const rules& r;

  // A PTE_MARKER_UFFD_WP (which can also be soft-dirty: move_ptes marks markers too).
  static bool is_marker(std::uint8_t pte) { return pte && !(pte & (PTE_PRESENT | PTE_SWAP)); }
  static std::uint8_t prot_bits(std::uint8_t prot) {  // calc_vm_prot_bits (no PROT_EXEC here)
    return std::uint8_t((prot & trace::PROT_R ? F_READ : 0) | (prot & trace::PROT_W ? F_WRITE : 0));
  }

  // mm_struct's lookups: the VMA containing p, the first VMA ending after p (-1: none).
  int find(int p) const {
    for (int i = 0; i < s.nvma; ++i)
      if (s.vma[i].start <= p && p < s.vma[i].end) return i;
    return -1;
  }
  int from(unsigned p) const {
    const int i = after(p);
    return i < s.nvma ? i : -1;
  }
  // The same as a position: nvma when no VMA ends after p (a free page sits before it).
  int after(unsigned p) const {
    int i = 0;
    while (i < s.nvma && s.vma[i].end <= p) ++i;
    return i;
  }
  // Replaces the VMAs [i, j) by the n VMAs at v (one move of the tail).
  // (Element loops: a few 4-byte moves cost less than a call to memmove.)
  void splice(int i, int j, const cvma* v, int n) {
    const int nvma = s.nvma + n - (j - i);
    if (n < j - i)
      for (int k = j; k < s.nvma; ++k) s.vma[std::size_t(k + n - (j - i))] = s.vma[std::size_t(k)];
    else if (n > j - i)
      for (int k = s.nvma - 1; k >= j; --k) s.vma[std::size_t(k + n - (j - i))] = s.vma[std::size_t(k)];
    for (int k = 0; k < n; ++k) s.vma[std::size_t(i + k)] = v[k];
    for (int k = nvma; k < s.nvma; ++k) s.vma[std::size_t(k)] = cvma{};
    s.nvma = std::uint8_t(nvma);
  }

  // do_munmap's splits at a and b (__split_vma: the halves copy the value, policy::on_split
  // is a no-op here), then kernel::unmap_region: zap (anon folios transfer no dirty bit),
  // erase, free_pgtables (the window's table goes when no VMA is left in its 2 MiB span: all
  // VMAs lie in the window), and the oracle forgets the addresses (oracle::unmapped). One pass
  // over the VMAs; returns the index where [a,b) is now free, or -1 when nothing was mapped there.
  int unmap(unsigned a, unsigned b) {
    const int i = after(a);
    int j = i;
    while (j < s.nvma && s.vma[j].start < b) ++j;
    if (i == j) return -1;
    for (int k = i; k < j; ++k)
      zap_transfer_dirty(s.vma[k], std::max<unsigned>(a, s.vma[k].start), std::min<unsigned>(b, s.vma[k].end));
    cvma keep[2];
    int n = 0;
    if (s.vma[i].start < a) {
      keep[n] = s.vma[i];
      keep[n++].end = std::uint8_t(a);
      nsd_split(a);
    }
    if (s.vma[j - 1].end > b) {
      keep[n] = s.vma[j - 1];
      keep[n++].start = std::uint8_t(b);
      nsd_split(b);
    }
    splice(i, j, keep, n);
    nsd_forget(a, b);
    for (unsigned p = a; p < b; ++p) s.pte[p] = 0;
    if (s.nvma == 0) s.table = 0;
    forget(a, b);
    return i + (n && keep[0].end == a);
  }

  // --- memory files (model/memfile.hpp) ---
  cfile& file_of(const cvma& v) {
    if constexpr (S::has_files) return s.files[v.file - 1u];
    else narrow_state_overflow();
  }
  static unsigned index(const cvma& v, unsigned p) { return unsigned(int(p) + v.pgoff); }
  static std::uint8_t bit(unsigned i) { return std::uint8_t(i < 8 ? 1u << i : 0u); }
  // kernel::zap_transfer_dirty: a page-cache folio whose PTE was dirty is marked dirty as the
  // PTE goes (zap_present_folio_ptes; no covered VMA is VM_DROPPABLE, so every design does).
  void zap_transfer_dirty(const cvma& v, unsigned a, unsigned b) {
    if (!v.file) return;
    for (unsigned p = a; p < b; ++p)
      if (pte_is_file(s.pte[p]) && (s.pte[p] & PTE_DIRTY)) file_of(v).dirty |= bit(index(v, p));
  }
  // oracle::zapped_kept: the file page stays; what comes back is not what moved.
  void zapped_kept(std::uint8_t m) {
    s.zapped |= m;
    s.moved_pte &= std::uint8_t(~m);
  }
  bool wants_writenotify(const cvma& v) const { return r.wants_writenotify(s, v); }
  // kernel::page_prot_write: a shared-writable VMA's vm_page_prot is writable unless
  // soft-dirty tracking (not under the mutant no_writenotify_after_clear) or uffd-wp needs
  // write faults (mm/vma.c:vma_wants_writenotify); a private one's never is.
  bool page_prot_write(const cvma& v) const {
    if ((v.flags & (F_WRITE | F_SHARED)) != (F_WRITE | F_SHARED)) return false;
    const bool sd = r.opt_.bug != mutant::no_writenotify_after_clear && wants_writenotify(v);
    return !(sd || (v.flags & F_UFFD_WP));
  }
  void set_page_prot(cvma& v) const { v.page_prot_write = page_prot_write(v); }
  // kernel::prot_follows_handover: a design whose merges can start tracking a VMA
  // (policy::merge_sets_page_prot) recomputes vm_page_prot when it did.
  void prot_follows_handover(cvma& v, bool tracked_before) const {
    if (r.sets_prot_ && !tracked_before && wants_writenotify(v)) set_page_prot(v);
  }
  // file_mapcount: the present PTEs mapping index i of file f.
  unsigned file_mapcount(unsigned f, unsigned i) const {
    unsigned n = 0;
    for (int k = 0; k < s.nvma; ++k) {
      const cvma& v = s.vma[k];
      const int p = int(i) - v.pgoff;
      if (v.file == f && p >= v.start && p < v.end && pte_is_file(s.pte[p])) ++n;
    }
    return n;
  }

  // oracle::unmapped: the addresses take their history with them (sd_reset, and the
  // write-protect sets).
  void forget(unsigned a, unsigned b) {
    sd_reset(a, b);
    const std::uint8_t keep = std::uint8_t(~page_mask(a, b));
    s.stored_wp &= keep, s.new_wp &= keep;
  }
  // oracle::sd_reset: soft-dirty's ghost sets forget [a,b).
  void sd_reset(unsigned a, unsigned b) {
    const std::uint8_t keep = std::uint8_t(~page_mask(a, b));
    s.stored &= keep, s.fresh &= keep, s.moved &= keep, s.moved_pte &= keep, s.zapped &= keep;
  }
  // --- the granular designs' non_sd_reg lists (model/policies/granular.cpp) on the bitmaps ---
  bool covered(unsigned p) const { return p < max_pages && (s.nsd_covered >> p & 1); }
  bool node_starts(unsigned p) const { return p < max_pages && (s.nsd_start >> p & 1); }
  // policy::tracking_enabled for page p of VMA v: a covered page under a granular design.
  bool tracking(const cvma& v, unsigned p) const {
    return r.granular_ ? covered(p) : r.tracking_[s.cleared][v.flags];
  }
  // granular::on_split at `at`, strictly inside a VMA: the node straddling it is cut in two;
  // under the mutant granular_split_drops_node it is lost whole.
  void nsd_split(unsigned at) {
    if (!r.granular_ || !covered(at) || !covered(at - 1) || node_starts(at)) return;
    if (r.opt_.bug == mutant::granular_split_drops_node) {
      unsigned ns = at - 1, ne = at;
      while (ns > 0 && !node_starts(ns)) --ns;
      while (covered(ne) && !node_starts(ne)) ++ne;
      nsd_forget(ns, ne);
      return;
    }
    s.nsd_start |= std::uint8_t(1u << at);
  }
  // granular::on_merge for a VMA a merge shrank to one side of `at`: what lies outside the
  // merged range stays its own (a straddling node is cut, never dropped: no split happened).
  void nsd_cut(unsigned at) {
    if (covered(at)) s.nsd_start |= std::uint8_t(1u << at);
  }
  // granular::store: a coalescing design joins the touching nodes of one list; `at` is a
  // boundary between two former lists, now inside one VMA.
  void nsd_join(unsigned at) {
    if (r.coalesce_ && covered(at) && covered(at - 1)) s.nsd_start &= std::uint8_t(~(1u << at));
  }
  // granular::on_unmap (the removed VMAs' lists go with them).
  void nsd_forget(unsigned a, unsigned b) {
    const std::uint8_t keep = std::uint8_t(~page_mask(a, b));
    s.nsd_covered &= keep, s.nsd_start &= keep;
  }

  // oracle::cleared_refs: soft-dirty's ghost sets start over.
  void cleared_refs() { s.stored = s.fresh = s.moved = s.moved_pte = s.zapped = 0; }
  // oracle::stored and oracle::mapped_new (the write-protect sets from the first reset on).
  void stored(std::uint8_t m) {
    s.stored |= m;
    s.zapped &= std::uint8_t(~m);  // the store faulted: tracking is back
    if (s.wp_tracking) s.stored_wp |= m;
  }
  void mapped_new(std::uint8_t m) {
    s.fresh |= m;
    if (s.wp_tracking) s.new_wp |= m;
  }

  // kernel::is_mergeable_anon_vma with an existing VMA (its anon_vma_chain is singular when it
  // has an anon_vma).
  static bool mergeable_anon_vma(unsigned proposed, unsigned theirs) {
    if ((!proposed || !theirs) && theirs) return true;
    return proposed == theirs;
  }
  // kernel::can_merge_after / can_merge_before: the same file; pgoff contiguous (with
  // adjacency: the same pgoff_delta).
  bool can_merge(const cvma& existing, const cvma& p) const {
    return r.mergeable(s.cleared, existing.flags, p.flags) && existing.file == p.file &&
           mergeable_anon_vma(p.anon, existing.anon) && existing.pgoff == p.pgoff;
  }
  static bool anon_vmas_compatible(const cvma& prev, const cvma& next) {
    return !prev.anon || !next.anon || prev.anon == next.anon;
  }

  // kernel::vma_merge_new_range for a free [a,b) proposed as `p` (its start and end are
  // ignored), which sits before VMA k (k == nvma: after the last). Stores the new VMA, merged
  // or not (p's value then), with the flags `mark` gives it (mmap: __mmap_region marks the
  // resulting VMA new, merged neighbours included); returns its index.
  template <class Mark>
  int map_new_range(int k, unsigned a, unsigned b, const cvma& p, merge_path path, Mark mark) {
    const cvma* prev = k > 0 && s.vma[k - 1].end == a ? &s.vma[k - 1] : nullptr;
    const cvma* next = k < s.nvma && s.vma[k].start == b ? &s.vma[k] : nullptr;
    // (shmem_zero_setup comes after the merge: a shared-anon proposal has no file yet and
    // VM_SHARED, which no neighbour has at once, so it never merges.)
    const bool left = prev && can_merge(*prev, p);
    const bool right = next && can_merge(*next, p) && (!left || anon_vmas_compatible(*prev, *next));
    const std::uint8_t flags = p.flags;
    cvma res = p;
    res.start = std::uint8_t(a), res.end = std::uint8_t(b);
    // merge_handover, when a merge of a range the caller does not store itself (mmap sets
    // vm_page_prot after) absorbed next: did the target's own list need write-notify?
    const bool tracked_before = left && right && wants_writenotify(*prev);
    if (left || right) {
      const cvma& target = left ? *prev : *next;
      res = target;
      res.start = left ? prev->start : std::uint8_t(a);
      res.end = right ? next->end : std::uint8_t(b);
      std::uint8_t parts[3] = {target.flags};
      std::size_t nparts = 1;
      if (left && right) {
        if (!res.anon) res.anon = next->anon;
        parts[nparts++] = next->flags;
      }
      parts[nparts++] = flags;
      res.flags = r.merged_flags(s.cleared, path, target.flags, parts, nparts);
    }
    res.flags = mark(res.flags);
    splice(k - left, k + right, &res, 1);
    if (left && right && path != merge_path::mmap) prot_follows_handover(s.vma[k - 1], tracked_before);
    return k - left;
  }

  // kernel::vma_merge_existing_range: the index of the merged VMA, its parts (target first).
  struct merged {
    int at = -1;
    std::uint8_t parts[3];  // flag bits
    std::size_t nparts = 0;
  };
  merged merge_existing_range(int i, unsigned a, unsigned b, std::uint8_t newflags) {
    merged out;
    const cvma v = s.vma[i];
    const bool left_side = a == v.start, right_side = b == v.end;
    if (!left_side && !right_side) return out;
    const cvma* prev = left_side && i > 0 && s.vma[i - 1].end == a ? &s.vma[i - 1] : nullptr;
    const cvma* next = right_side && i + 1 < s.nvma && s.vma[i + 1].start == b ? &s.vma[i + 1] : nullptr;
    cvma p = v;
    p.flags = newflags;
    const bool ml = prev && can_merge(*prev, p);
    const bool mr = next && can_merge(*next, p) && (!ml || anon_vmas_compatible(*prev, *next));
    if (!ml && !mr) return out;
    cvma res;
    if (ml && mr) {
      res = *prev;
      res.end = next->end;
      if (!res.anon) res.anon = next->anon ? next->anon : v.anon;
      out.parts[0] = prev->flags, out.parts[1] = v.flags, out.parts[2] = next->flags;
      out.nparts = 3;
    } else if (ml) {
      res = *prev;
      res.end = std::uint8_t(b);
      if (!res.anon) res.anon = v.anon;
      out.parts[0] = prev->flags, out.parts[1] = v.flags;
      out.nparts = 2;
    } else {
      res = *next;
      res.start = std::uint8_t(a);
      if (!res.anon) res.anon = v.anon;
      out.parts[0] = next->flags, out.parts[1] = v.flags;
      out.nparts = 2;
    }
    // merge_handover: did the target's own list need write-notify?
    const bool tracked_before = wants_writenotify(ml ? *prev : *next);
    // merge_handover: the merged VMA replaces prev and/or next and the part of vma it covers;
    // what is left of vma (the other side of [a,b)) stays beside it.
    cvma put[2] = {res};
    int n = 1, at = i - ml;
    // granular::on_merge: the lists are concatenated (joined where they touch, if coalescing),
    // a shrunk vma keeps what lies outside the merged range.
    if (r.granular_) {
      if (ml && !right_side) nsd_cut(b);
      if (mr && !ml && !left_side) nsd_cut(a);
      if (ml) nsd_join(a);
      if (mr) nsd_join(b);
    }
    if (ml && !right_side) {
      put[n] = v;
      put[n++].start = std::uint8_t(b);
    }
    if (mr && !ml && !left_side) {
      put[1] = res;
      put[0] = v;
      put[0].end = std::uint8_t(a);
      n = 2;
      ++at;
    }
    splice(i - ml, i + 1 + mr, put, n);
    prot_follows_handover(s.vma[at], tracked_before);
    out.at = at;
    return out;
  }

  // kernel::anon_vma_prepare -> find_mergeable_anon_vma: next first, then prev, else new.
  void anon_vma_prepare(int i) {
    cvma& v = s.vma[i];
    if (v.anon) return;
    auto compatible = [](const cvma& a, const cvma& b) {  // anon_vma_compatible
      return a.end == b.start && a.pgoff == b.pgoff && a.file == b.file &&
             !((a.flags ^ b.flags) & ~(F_READ | F_WRITE | F_SOFTDIRTY));
    };
    unsigned id = 0;
    if (i + 1 < s.nvma && compatible(v, s.vma[i + 1])) id = s.vma[i + 1].anon;
    if (!id && i > 0 && compatible(s.vma[i - 1], v)) id = s.vma[i - 1].anon;
    if (!id) {
      for (int j = 0; j < s.nvma; ++j) id = std::max<unsigned>(id, s.vma[j].anon);
      ++id;
    }
    v.anon = std::uint8_t(id);
  }

  // kernel::sys_mmap: a fixed private anonymous, shared anonymous or memfd mapping (at file
  // index a + pgoff).
  void mmap(unsigned a, unsigned b, std::uint8_t prot, rules::kind k_, std::int8_t pgoff) {
    const bool shared = k_ != rules::kind::mmap_anon;
    if constexpr (!S::has_files)
      if (shared) narrow_state_overflow();
    std::uint8_t flags = prot_bits(prot);
    if (shared) flags |= F_SHARED;
    else if (flags & F_WRITE) flags |= F_ACCOUNT;  // accountable_mapping
    flags = r.proposed_[s.cleared][flags];
    // mutant new_vma_not_soft_dirty: before d9104d1ca966 no new mapping carried VM_SOFTDIRTY.
    const bool unmarked = r.opt_.bug == mutant::new_vma_not_soft_dirty;
    if (unmarked) flags &= std::uint8_t(~F_SOFTDIRTY);
    cvma p{};
    p.flags = flags;
    if (k_ == rules::kind::mmap_memfd) {
      // The memfd: created empty on first use, grown to at least OFFSET+LEN (ftruncate).
      p.file = MEMFD, p.pgoff = pgoff;
      cfile& f = file_of(p);
      f.size = std::max<std::uint8_t>(f.size, std::uint8_t(int(b) + pgoff));
    }
    int k = unmap(a, b);  // __mmap_region: what the range replaces goes first
    if (k < 0) k = after(a);
    // vma_merge_new_range (the caller stores it), then the resulting VMA, merged neighbours
    // included, is marked new, then vma_set_page_prot.
    const int at = map_new_range(k, a, b, p, merge_path::mmap,
                                 [&](std::uint8_t f) { return unmarked ? f : r.marked_[s.cleared][f]; });
    cvma& v = s.vma[at];
    if constexpr (S::has_files) if (k_ == rules::kind::mmap_shared) {
      // shmem_zero_setup: a file of its own, of the mapping's size, at pgoff 0.
      gc_files();
      unsigned id = MEMFD + 1;
      while (s.files[id - 1].size) ++id;
      s.files[id - 1] = cfile{std::uint8_t(b - a), 0, 0, 0, 0};
      v.file = std::uint8_t(id), v.pgoff = std::int8_t(-int(a));
    }
    set_page_prot(v);
    mapped_new(page_mask(a, b));
    consumer_track_new(a, b, true);
  }

  // A shared-anonymous file no VMA maps is gone (its last reference went with the mapping).
  void gc_files() requires S::has_files {
    std::uint16_t used = 0;
    for (int i = 0; i < s.nvma; ++i) used |= std::uint16_t(1u << s.vma[i].file);
    for (unsigned id = MEMFD + 1; id <= max_files; ++id)
      if (!(used >> id & 1)) s.files[id - 1] = cfile{};
  }

  // kernel::sys_munmap -> do_munmap.
  void munmap(unsigned a, unsigned b) { unmap(a, b); }

  // kernel::can_change_pte_writable.
  bool can_change_pte_writable(const cvma& v, unsigned p, std::uint8_t pte) const {
    if (!(v.flags & F_WRITE)) return false;
    // mutant can_change_pte_writable_inverted: the test fired when tracking was off.
    const bool on = tracking(v, p) != (r.opt_.bug == mutant::can_change_pte_writable_inverted);
    if (on && !(pte & PTE_SOFT_DIRTY)) return false;
    if ((v.flags & F_UFFD_WP) && (pte & PTE_UFFD_WP)) return false;  // so does uffd-wp
    if (!(v.flags & F_SHARED)) return (pte & PTE_ANON) && (pte & PTE_EXCLUSIVE);
    return pte & PTE_DIRTY;  // MAP_SHARED: "clean" may mean the fs still wants a write fault
  }

  // kernel::vma_modify for [a,b) of VMA i, then vm_flags_reset: the index of the VMA now
  // covering [a,b) (more after a merge), which has `newflags` (policy::merged_flags after a
  // merge); with set_prot, then vma_set_page_prot (mprotect).
  int modify(int i, unsigned a, unsigned b, std::uint8_t newflags, merge_path path, bool set_prot) {
    merged m = merge_existing_range(i, a, b, newflags);
    const int at = m.at >= 0 ? m.at : split_off(i, a, b);
    s.vma[at].flags = m.nparts ? r.merged_flags(s.cleared, path, newflags, m.parts, m.nparts) : newflags;
    if (set_prot) set_page_prot(s.vma[at]);
    return at;
  }
  // split_vma at a and at b inside VMA i (the halves copy the value); the index of [a,b).
  int split_off(int i, unsigned a, unsigned b) {
    const cvma v = s.vma[i];
    cvma put[3];
    int n = 0;
    auto part = [&](unsigned lo, unsigned hi) {
      put[n] = v;
      put[n].start = std::uint8_t(lo), put[n++].end = std::uint8_t(hi);
    };
    if (v.start < a) {
      part(v.start, a);
      nsd_split(a);
    }
    const int at = i + n;
    part(a, b);
    if (v.end > b) {
      part(b, v.end);
      nsd_split(b);
    }
    splice(i, i + 1, put, n);
    return at;
  }

  // kernel::sys_mprotect (mprotect_fixup, vma_modify, change_protection).
  void mprotect(unsigned a, unsigned b, std::uint8_t prot) {
    int i = from(a);
    if (i < 0 || s.vma[i].start >= b || s.vma[i].start > a) return;  // -ENOMEM
    unsigned nstart = a, tmp = s.vma[i].start;
    while (nstart < b) {
      i = from(nstart);
      if (i < 0 || s.vma[i].start >= b || s.vma[i].start != tmp) return;  // a hole: -ENOMEM
      // (VM_MAY* are always set: the -EACCES check never fires.)
      const std::uint8_t oldflags = s.vma[i].flags;
      std::uint8_t newflags = prot_bits(prot) | (oldflags & ~(F_READ | F_WRITE));
      tmp = std::min<unsigned>(s.vma[i].end, b);
      if (newflags == oldflags) {
        tmp = s.vma[i].end;
        nstart = tmp;
        continue;
      }
      if (newflags & F_WRITE) {
        if (!(oldflags & (F_ACCOUNT | F_WRITE | F_SHARED))) newflags |= F_ACCOUNT;  // nor hugetlb, noreserve
      } else if ((oldflags & F_ACCOUNT) && !s.vma[i].file && !s.vma[i].anon) {
        newflags &= std::uint8_t(~F_ACCOUNT);
      }
      cvma& res = s.vma[modify(i, nstart, tmp, newflags, merge_path::mprotect, true)];
      // change_protection over [nstart, tmp): the write bit from vm_page_prot, then
      // MM_CP_TRY_CHANGE_WRITABLE (vma_wants_manual_pte_write_upgrade: private and VM_WRITE,
      // or shared with write-notify).
      const bool try_writable = (res.flags & F_WRITE) && (!(res.flags & F_SHARED) || !res.page_prot_write);
      for (unsigned p = nstart; p < tmp; ++p) {
        std::uint8_t& pte = s.pte[p];
        if (!(pte & PTE_PRESENT)) continue;
        const bool w = res.page_prot_write && !(pte & PTE_UFFD_WP);
        pte = std::uint8_t((pte & ~PTE_WRITE) | (w ? PTE_WRITE : 0));
        if (try_writable && !w && can_change_pte_writable(res, p, pte)) pte |= PTE_WRITE;
      }
      tmp = res.end;
      nstart = tmp;
    }
  }

  // kernel::do_read_fault_file for page q of file VMA i, whose PTE is none or a marker:
  // fault-around first (unless uffd-wp is registered), then shmem_fault; false for SIGBUS.
  bool read_fault_file(int i, unsigned q) {
    const cvma& v = s.vma[i];
    cfile& f = file_of(v);
    if (!(v.flags & F_UFFD_WP)) {
      // do_fault_around -> filemap_map_pages: the window lies in the first fault_around_pages
      // of its PTE table, so the fault-around range is the whole VMA: cached pages below the
      // file's size whose PTE is none map clean from vm_page_prot.
      for (unsigned x = v.start; x < v.end; ++x) {
        const unsigned idx = index(v, x);
        if (idx >= f.size || !(f.cached & bit(idx)) || s.pte[x]) continue;
        s.table = 1;
        s.pte[x] = std::uint8_t(PTE_PRESENT | PTE_FILE | (v.page_prot_write ? PTE_WRITE : 0));
      }
    }
    std::uint8_t& pte = s.pte[q];
    if (pte & PTE_PRESENT) return true;
    const unsigned idx = index(v, q);
    if (idx >= f.size) return false;  // shmem_get_folio_gfp: -EINVAL beyond i_size
    s.table = 1;
    // shmem_swapin_folio marks a folio read back from swap dirty.
    if (f.swapped & bit(idx)) f.dirty |= bit(idx);
    f.cached |= bit(idx);
    f.swapped &= std::uint8_t(~bit(idx));
    // set_pte_range from vm_page_prot, clean; a marker makes it uffd-wp.
    const bool uffd = pte & PTE_UFFD_WP;
    pte = std::uint8_t(PTE_PRESENT | PTE_FILE | (v.page_prot_write && !uffd ? PTE_WRITE : 0) |
                       (uffd ? PTE_UFFD_WP : 0));
    return true;
  }

  // kernel::access: page by page, stopping at the first page the kernel refuses (SIGSEGV, or
  // SIGBUS for a file page beyond the file's size).
  void access(unsigned a, unsigned b, bool write) {
    for (unsigned p = a; p < b;) {
      const int i = find(int(p));
      if (i < 0) return;
      const std::uint8_t flags = s.vma[i].flags;
      if (write ? !(flags & F_WRITE) : !(flags & (F_READ | F_WRITE))) return;
      const unsigned seg_end = std::min<unsigned>(s.vma[i].end, b);
      if (s.vma[i].file) {
        if (!access_file(i, p, seg_end, write)) return;
        p = seg_end;
        continue;
      }
      for (unsigned q = p; q < seg_end; ++q) {
        std::uint8_t& pte = s.pte[q];
        if (!write) {
          if (pte & PTE_PRESENT) continue;
          s.table = 1;
          if (pte & PTE_SWAP) {
            // do_swap_page: soft-dirty and uffd-wp come back from the swap PTE (soft-dirty not
            // under the mutant swap_loses_soft_dirty); writable only if exclusive and no write
            // fault is needed.
            const bool sd = pte & PTE_SOFT_DIRTY, uffd = pte & PTE_UFFD_WP;
            const bool w = (pte & PTE_EXCLUSIVE) && (flags & F_WRITE) && !uffd &&
                           !(tracking(s.vma[i], q) && !sd);
            pte = std::uint8_t(PTE_PRESENT | PTE_ANON | (pte & (PTE_EXCLUSIVE | PTE_UFFD_WP)) |
                               (w ? PTE_WRITE : 0) |
                               (sd && r.opt_.bug != mutant::swap_loses_soft_dirty ? PTE_SOFT_DIRTY : 0));
            continue;
          }
          // do_anonymous_page: the zero page, read-only, not soft-dirty; a marker makes it uffd-wp.
          pte = std::uint8_t(PTE_PRESENT | (pte & PTE_UFFD_WP));
          continue;
        }
        if ((pte & PTE_PRESENT) && (pte & PTE_WRITE)) {
          pte |= PTE_DIRTY;  // the CPU sets _PAGE_DIRTY, never soft-dirty
          continue;
        }
        // do_anonymous_page / wp_page_copy / wp_page_reuse: pte_mkdirty on an exclusive page.
        s.table = 1;
        anon_vma_prepare(i);
        pte = PTE_PRESENT | PTE_ANON | PTE_WRITE | PTE_DIRTY | PTE_SOFT_DIRTY | PTE_EXCLUSIVE;
      }
      if (write) stored(page_mask(p, seg_end));
      p = seg_end;
    }
  }

  // kernel::access over [p, e) of the (shared) file VMA i; false when it ends in SIGBUS.
  bool access_file(int i, unsigned p, unsigned e, bool write) {
    const cvma v = s.vma[i];
    if (!write) {
      for (unsigned q = p; q < e; ++q)
        if (!(s.pte[q] & PTE_PRESENT) && !read_fault_file(i, q)) return false;
      return true;
    }
    cfile& f = file_of(v);
    unsigned done = p;
    for (; done < e; ++done) {
      std::uint8_t& pte = s.pte[done];
      if ((pte & PTE_PRESENT) && (pte & PTE_WRITE)) {
        pte |= PTE_DIRTY;  // the CPU sets _PAGE_DIRTY, never soft-dirty
        continue;
      }
      // do_shared_fault / wp_page_shared: shmem_fault refuses an index beyond i_size
      // (VM_FAULT_SIGBUS) for a none or marker PTE; the page-cache page, marked dirty at once
      // (fault_dirty_shared_page), mapped writable, dirty and soft-dirty.
      const unsigned idx = index(v, done);
      if (!(pte & PTE_PRESENT) && idx >= f.size) break;
      s.table = 1;
      pte = PTE_PRESENT | PTE_FILE | PTE_WRITE | PTE_DIRTY | PTE_SOFT_DIRTY;
      f.cached |= bit(idx), f.dirty |= bit(idx);
      f.swapped &= std::uint8_t(~bit(idx));
    }
    // Stores through a shared mapping reach the file.
    for (unsigned q = p; q < done; ++q) f.written |= bit(index(v, q));
    stored(page_mask(p, done));
    return done == e;
  }

  // kernel::pageout_range for VMA i: try_to_unmap_one turns each exclusively mapped anon
  // folio (never the zero page) into a swap entry keeping soft-dirty (unless the mutant
  // swap_loses_soft_dirty) and PageAnonExclusive, if there is swap; without, nothing moves.
  void pageout_range(int i, unsigned a, unsigned b) {
    if (s.vma[i].file) return pageout_file(s.vma[i], a, b);
    if (!r.opt_.swap) return;
    for (unsigned p = a; p < b; ++p) {
      std::uint8_t& pte = s.pte[p];
      if (!(pte & PTE_PRESENT) || !(pte & PTE_ANON)) continue;
      const bool sd = (pte & PTE_SOFT_DIRTY) && r.opt_.bug != mutant::swap_loses_soft_dirty;
      pte = std::uint8_t(PTE_SWAP | (sd ? PTE_SOFT_DIRTY : 0) | (pte & (PTE_EXCLUSIVE | PTE_UFFD_WP)));
    }
  }

  // ... for a file VMA: a page-cache page mapped only here loses its PTE (a uffd-wp protected
  // one of a uffd-wp VMA becomes a marker: pte_install_uffd_wp_if_needed), its dirty bit goes
  // to the folio, then shrink_file_folio: a dirty folio goes to swap if there is swap (else
  // it stays), a clean one is freed.
  void pageout_file(const cvma& v, unsigned a, unsigned b) {
    cfile& f = file_of(v);
    for (unsigned p = a; p < b; ++p) {
      std::uint8_t& pte = s.pte[p];
      if (!pte_is_file(pte)) continue;
      const unsigned idx = index(v, p);
      if (file_mapcount(v.file, idx) != 1) continue;
      const bool marker = (v.flags & F_UFFD_WP) && (pte & PTE_UFFD_WP);
      if (pte & PTE_DIRTY) f.dirty |= bit(idx);
      pte = marker ? PTE_UFFD_WP : 0;
      zapped_kept(bit(p));
      if (!(f.dirty & bit(idx))) {
        f.cached &= std::uint8_t(~bit(idx));
      } else if (r.opt_.swap) {
        f.cached &= std::uint8_t(~bit(idx)), f.dirty &= std::uint8_t(~bit(idx));
        f.swapped |= bit(idx);
      }
    }
  }

  // kernel::sys_madvise -> madvise_vma, VMA by VMA (holes skipped: -ENOMEM at the end).
  void madvise(unsigned a, unsigned b, trace::Advice advice) {
    const bool flag_advice = advice == trace::Advice::Random || advice == trace::Advice::Normal;
    for (unsigned start = a; start < b;) {
      const int i = from(start);
      if (i < 0 || s.vma[i].start >= b) return;
      start = std::max<unsigned>(start, s.vma[i].start);
      const unsigned tmp = std::min<unsigned>(s.vma[i].end, b);
      switch (advice) {
        case trace::Advice::Dontneed: {
          // zap_ptes: an anonymous VMA keeps no marker; a file VMA registered for uffd-wp
          // keeps one where the PTE was protected, its dirty bits go to the folios and the
          // pages stay in the page cache (oracle::zapped_kept). The table stays.
          const cvma& v = s.vma[i];
          const bool markers = v.file && (v.flags & F_UFFD_WP);
          zap_transfer_dirty(v, start, tmp);
          for (unsigned p = start; p < tmp; ++p) s.pte[p] = markers && (s.pte[p] & PTE_UFFD_WP) ? PTE_UFFD_WP : 0;
          if (v.file) zapped_kept(page_mask(start, tmp));
          break;
        }
        case trace::Advice::Pageout: pageout_range(i, start, tmp); break;
        default: {
          // madvise_update_vma: vma_modify_flags, then vm_flags_reset (no vma_set_page_prot).
          const std::uint8_t flags = s.vma[i].flags;
          const std::uint8_t newflags = advice == trace::Advice::Random ? flags | F_RAND_READ
                                                                        : flags & std::uint8_t(~F_RAND_READ);
          if (newflags != flags) modify(i, start, tmp, newflags, merge_path::madvise, false);
        }
      }
      // Flag changes may have merged past tmp: continue after the VMA that holds `start` now.
      const int now = find(int(start));
      start = now >= 0 && s.vma[now].end > tmp && flag_advice ? s.vma[now].end : tmp;
    }
  }

  // kernel::move_vma for [a, a+len) of VMA i to the free [t, t+len) (sys_mremap's checks done):
  // copy_vma (an unfaulted anonymous source is re-based to the destination, so it merges
  // easily), move_page_tables (every moved PTE becomes soft-dirty: move_soft_dirty_pte, unless
  // the mutant mremap_move_not_soft_dirty), the oracle's moved(), then do_munmap of the source.
  void move_vma(int i, unsigned a, unsigned len, unsigned t) {
    const cvma v = s.vma[i];
    const int pgoff = v.anon || v.file ? int(a) + v.pgoff : int(t);  // pgoff_at(a), or new_addr
    cvma p = v;  // vm_area_dup: the source's flags and vm_page_prot
    p.pgoff = std::int8_t(pgoff - int(t));
    const int at = map_new_range(after(t), t, t + len, p, merge_path::mremap_move, [](std::uint8_t f) { return f; });
    const bool tracked_before = wants_writenotify(s.vma[at]);
    nsd_move(a, len, t);
    prot_follows_handover(s.vma[at], tracked_before);
    // The window lies in one PTE table: one extent, never a whole table (move_normal_pmd).
    // Without UFFD_FEATURE_EVENT_REMAP a uffd-wp source loses its markers and uffd-wp bits.
    const bool clear_uffd = (v.flags & F_UFFD_WP) && !r.event_remap_;
    if (s.table)
      for (unsigned p = 0; p < len; ++p) {
        std::uint8_t pte = s.pte[a + p];
        s.pte[a + p] = 0;
        if (clear_uffd && is_marker(pte)) pte = 0;
        if (pte && r.opt_.bug != mutant::mremap_move_not_soft_dirty) pte |= PTE_SOFT_DIRTY;
        if (clear_uffd) pte &= std::uint8_t(~PTE_UFFD_WP);
        s.pte[t + p] = pte;
      }
    // oracle::moved: every page is new at its new address, but only one that was new at its
    // source (and not a gap there) may be a lost new mapping; stores travel with the page.
    auto carried = [&](std::uint8_t bits) {
      const unsigned src = (bits & page_mask(a, a + len)) >> a;
      return std::uint8_t(src << t);
    };
    const std::uint8_t was_new = carried(s.fresh & std::uint8_t(~s.moved)), dst = page_mask(t, t + len);
    const std::uint8_t was_stored = carried(s.stored), was_zapped = carried(s.zapped);
    mapped_new(dst);
    s.stored |= was_stored;
    s.zapped |= was_zapped;
    s.moved |= dst & std::uint8_t(~was_new);
    for (unsigned p = t; p < t + len; ++p)  // oracle::moved_with_pte: present or swap
      if (s.pte[p] & (PTE_PRESENT | PTE_SWAP)) s.moved_pte |= std::uint8_t(1u << p);
    // mremap_userfaultfd_prep: without EVENT_REMAP the new VMA is unregistered, and a shared
    // one's vm_page_prot recomputed.
    if (const int n = find(int(t)); n >= 0 && !r.event_remap_ && (s.vma[n].flags & F_UFFD_WP)) {
      s.vma[n].flags &= std::uint8_t(~F_UFFD_WP);
      if (s.vma[n].flags & F_SHARED) set_page_prot(s.vma[n]);
    }
    consumer_track_new(t, t + len, false);
    unmap(a, a + len);
  }

  // granular::on_move: the nodes of [a, a+len) follow it to t (cut at its ends), into the list
  // of the VMA that holds t now; the source's own go with its munmap.
  void nsd_move(unsigned a, unsigned len, unsigned t) {
    if (!r.granular_) return;
    const std::uint8_t src = page_mask(a, a + len);
    const std::uint8_t cov = std::uint8_t(((s.nsd_covered & src) >> a) << t);
    std::uint8_t start = std::uint8_t(((s.nsd_start & src) >> a) << t);
    if (cov & (1u << t)) start |= std::uint8_t(1u << t);
    s.nsd_covered |= cov, s.nsd_start |= start;
    const cvma& holder = s.vma[find(int(t))];
    if (holder.start < t) nsd_join(t);
    if (holder.end > t + len) nsd_join(t + len);
  }

  // kernel::sys_mremap, MREMAP_MAYMOVE|MREMAP_FIXED to t, the same length.
  void mremap_move(unsigned a, unsigned b, unsigned t) {
    if (find(int(a)) < 0) return;  // -EFAULT
    unmap(t, t + (b - a));         // the destination goes first, whatever follows
    const int i = find(int(a));    // vma_to_resize
    if (i < 0 || b > s.vma[i].end) return;  // -EFAULT
    move_vma(i, a, b - a, t);
  }

  // kernel::sys_mremap in place (no MREMAP_MAYMOVE) from [a,b) to [a,e).
  void mremap_resize(unsigned a, unsigned b, unsigned e) {
    if (find(int(a)) < 0) return;  // -EFAULT
    if (e <= b) {
      if (e < b) unmap(e, b);      // do_munmap of the tail
      return;
    }
    // vma_to_resize: -EFAULT past the VMA's end; short of it, it would have to move (-ENOMEM).
    const int i = find(int(a));
    if (b != s.vma[i].end) return;
    for (int k = 0; k < s.nvma; ++k)
      if (s.vma[k].start < e && s.vma[k].end > b) return;  // vma_expandable: the tail is taken
    // vma_merge_extend: vma_merge_new_range with prev = the VMA itself (it may absorb next);
    // the grown VMA keeps its own flags. oracle::grown_in_place: new, and a gap.
    map_new_range(i + 1, b, e, s.vma[i], merge_path::mremap_expand, [](std::uint8_t f) { return f; });
    mapped_new(page_mask(b, e));
    s.moved |= page_mask(b, e);
    consumer_track_new(b, e, true);
  }

  // kernel::uffd_register (UFFDIO_REGISTER, mode WP, async): every VMA of the range gets
  // VM_UFFD_WP through vma_modify; after a merge the target's own flags win (VM_SOFTDIRTY
  // included, semantics 2.3), then policy::merged_flags. -EINVAL (false) when no VMA is there.
  bool uffd_register(unsigned a, unsigned b) {
    s.uffd_ctx = 1;
    int i = from(a);
    if (i < 0 || s.vma[i].start >= b) return false;
    for (unsigned at = a; at < b;) {
      i = from(at);
      if (i < 0 || s.vma[i].start >= b) break;
      const unsigned lo = std::max<unsigned>(at, s.vma[i].start), hi = std::min<unsigned>(b, s.vma[i].end);
      if (!(s.vma[i].flags & F_UFFD_WP)) {
        const std::uint8_t newflags = s.vma[i].flags | F_UFFD_WP;
        merged m = merge_existing_range(i, lo, hi, newflags);
        const int res = m.at >= 0 ? m.at : split_off(i, lo, hi);
        const std::uint8_t flags = s.vma[res].flags | F_UFFD_WP;  // the target's
        s.vma[res].flags = m.nparts ? r.merged_flags(s.cleared, merge_path::uffd, flags, m.parts, m.nparts) : flags;
        if (s.vma[res].flags & F_SHARED) set_page_prot(s.vma[res]);
      }
      at = s.vma[find(int(lo))].end;
    }
    return true;
  }

  // kernel::uffd_writeprotect -> uffd_wp_range over each VMA: present PTEs become uffd-wp and
  // read-only, swap entries get the bit, pte_none a marker (WP_UNPOPULATED), the table is
  // populated; the oracle's write-protect reset, and under the uffd-wp design (unless the
  // consumer only arms a new mapping) its soft-dirty reset of the range.
  void uffd_writeprotect(unsigned a, unsigned b, bool consumer_setup) {
    for (int i = 0; i < s.nvma; ++i) {
      const unsigned lo = std::max<unsigned>(a, s.vma[i].start), hi = std::min<unsigned>(b, s.vma[i].end);
      if (lo >= hi) continue;
      s.table = 1;
      for (unsigned p = lo; p < hi; ++p) {
        std::uint8_t& pte = s.pte[p];
        pte |= PTE_UFFD_WP;
        if (pte & PTE_PRESENT) pte &= std::uint8_t(~PTE_WRITE);
      }
    }
    const std::uint8_t keep = std::uint8_t(~page_mask(a, b));
    s.wp_tracking = 1;  // oracle::wp_reset
    s.stored_wp &= keep, s.new_wp &= keep;
    if (r.pol_.emulates_soft_dirty_with_uffd_wp() && !consumer_setup) sd_reset(a, b);
  }

  // kernel::uffd_wp: register (which creates the context), then write-protect.
  void uffd_wp(unsigned a, unsigned b) {
    if (uffd_register(a, b)) uffd_writeprotect(a, b, false);
  }

  // kernel::consumer_track_new: the uffd-wp design registers every new mapping, and
  // write-protects it when it is new memory.
  void consumer_track_new(unsigned a, unsigned b, bool protect) {
    if (!r.pol_.emulates_soft_dirty_with_uffd_wp()) return;
    if (uffd_register(a, b) && protect) uffd_writeprotect(a, b, true);
  }

  // kernel::reclaim without a range: MADV_PAGEOUT over every mapping.
  void reclaim() {
    for (int i = 0; i < s.nvma; ++i) pageout_range(i, s.vma[i].start, s.vma[i].end);
  }

  // kernel::fork, seen from the parent: every COW mapping with an anon_vma is write-protected
  // and its pages (and swap entries) lose PageAnonExclusive.
  void fork() {
    for (int i = 0; i < s.nvma; ++i) {
      if (!s.vma[i].anon) continue;  // vma_needs_copy; private anonymous: always is_cow_mapping
      for (unsigned p = s.vma[i].start; p < s.vma[i].end; ++p) {
        std::uint8_t& pte = s.pte[p];
        if (pte & PTE_PRESENT) pte &= std::uint8_t(~PTE_WRITE);
        pte &= std::uint8_t(~PTE_EXCLUSIVE);
      }
    }
  }

  // kernel::clear_refs: the policy clears each VMA, then every PTE is write-protected and
  // cleaned; the oracle starts over.
  void clear_refs() {
    if (r.pol_.emulates_soft_dirty_with_uffd_wp()) {
      // The uffd-wp design: a write-protect reset of the whole address space (registering
      // what is not registered yet), VMA by VMA as they were when it started.
      cvma was[max_pages];
      const int n = s.nvma;
      std::copy(s.vma.begin(), s.vma.begin() + n, was);
      for (int i = 0; i < n; ++i)
        if (find(was[i].start) >= 0 && uffd_register(was[i].start, was[i].end))
          uffd_writeprotect(was[i].start, was[i].end, false);
      s.cleared = 1;
      cleared_refs();
      return;
    }
    // The policy clears each VMA, and vm_page_prot is recomputed for those it changed
    // (write-notify comes back for shared mappings; not under the mutant
    // no_writenotify_after_clear, before 64e455079e1b).
    bool changed[max_pages];
    for (int i = 0; i < s.nvma; ++i) {
      cvma& v = s.vma[i];
      if (r.granular_) {
        // granular::clear_vma: the list becomes one node covering the VMA; it changed unless
        // it was exactly that.
        const std::uint8_t m = page_mask(v.start, v.end);
        changed[i] = (s.nsd_covered & m) != m || (s.nsd_start & m) != (1u << v.start);
      } else {
        changed[i] = r.clear_changed_[s.cleared][v.flags];
      }
      v.flags = r.cleared_[s.cleared][v.flags];
    }
    if (r.granular_) {
      s.nsd_covered = s.nsd_start = 0;
      for (int i = 0; i < s.nvma; ++i) {
        s.nsd_covered |= page_mask(s.vma[i].start, s.vma[i].end);
        s.nsd_start |= std::uint8_t(1u << s.vma[i].start);
      }
    }
    if (r.opt_.bug != mutant::no_writenotify_after_clear)
      for (int i = 0; i < s.nvma; ++i)
        if (changed[i]) set_page_prot(s.vma[i]);
    for (std::uint8_t& pte : s.pte) {
      if (pte & PTE_PRESENT) pte &= std::uint8_t(~PTE_WRITE);
      pte &= std::uint8_t(~PTE_SOFT_DIRTY);  // swap entries too
    }
    s.cleared = 1;
    if (r.pol_.remerge_after_clear_refs()) {
      // Every VMA is clean now: each is merged with its neighbours, left to right, as a flag
      // change to the same flags would (vma_merge_existing_range over the whole VMA; the
      // target keeps its own flags).
      for (int i = 0; i < s.nvma; ++i) {
        const merged m = merge_existing_range(i, s.vma[i].start, s.vma[i].end, s.vma[i].flags);
        if (m.at >= 0) i = m.at;
      }
    }
    cleared_refs();
  }

  // The state codec's renaming (sim/state_codec.cpp): anon_vma ids and shared-anon files by
  // first appearance (a file no VMA maps is gone; the memfd keeps its place). The maps old
  // id -> new id in the nibbles of one register (ids are at most max_pages + 1).
  void rename() {
    static_assert(max_pages + 1 < 16 && max_files < 16);
    std::uint64_t map = 0, fmap = 0;
    unsigned n = 0, nf = MEMFD;
    bool files = false;
    for (int i = 0; i < s.nvma; ++i) {
      std::uint8_t& a = s.vma[i].anon;
      if constexpr (S::has_files) if (s.vma[i].file > MEMFD) {
        std::uint8_t& f = s.vma[i].file;
        files = true;
        unsigned to = unsigned(fmap >> (4 * f)) & 15;
        if (!to) {
          to = ++nf;
          fmap |= std::uint64_t(to) << (4 * f);
        }
        f = std::uint8_t(to);
      }
      if (!a) continue;
      unsigned to = unsigned(map >> (4 * a)) & 15;
      if (!to) {
        to = ++n;
        map |= std::uint64_t(to) << (4 * a);
      }
      a = std::uint8_t(to);
    }
    if constexpr (S::has_files) rename_files(files, fmap);
  }
  // ... the files moved to their new ids (fmap as above). No shared-anon file mapped, and none
  // left over: ids are dense after every operation, so a leftover would hold the first
  // shared-anon file's slot, files[MEMFD] (id MEMFD + 1).
  void rename_files(bool mapped, std::uint64_t fmap) requires S::has_files {
    if (!mapped && !s.files[MEMFD].size) return;
    std::array<cfile, max_files> was = s.files;
    for (unsigned id = MEMFD + 1; id <= max_files; ++id) s.files[id - 1] = cfile{};
    for (unsigned id = MEMFD + 1; id <= max_files; ++id)
      if (const unsigned to = unsigned(fmap >> (4 * id)) & 15) s.files[to - 1] = was[id - 1];
  }
};

std::optional<std::string> rules::unsupported(const policy& pol, const explore_options& opt,
                                              const std::vector<trace::Line>& alphabet) {
  if (opt.pages > max_pages)
    return "a window of " + std::to_string(opt.pages) + " pages (it holds at most " +
           std::to_string(max_pages) + ")";
  if ((pol.has_page_granular_state() || pol.merge_sets_page_prot()) && !non_sd_reg_design(pol))
    return "the design " + std::string(pol.name()) +
           " (it covers designs without per-page state beside the VMA, upstream-6.12, sticky, precise and "
           "uffd-wp, and the non_sd_reg designs granular and granular-coalesce)";
  if (opt.bug != mutant::none && std::ranges::find(covered_mutants, opt.bug) == std::end(covered_mutants)) {
    std::string covered;
    for (mutant m : covered_mutants) covered += (covered.empty() ? "" : ", ") + std::string(mutant_name(m));
    return "the mutant " + std::string(mutant_name(opt.bug)) + " (it covers " + covered + ")";
  }
  if (opt.extra_check) return "an extra state check";
  std::optional<std::string> memfd;
  for (const trace::Line& l : alphabet) {
    if (const auto* m = std::get_if<trace::Mmap>(&l.op); m && m->file) {
      if (memfd && *memfd != m->file->name)
        return "a second memfd (`" + m->file->name + "` beside `" + *memfd + "`: it holds one)";
      memfd = m->file->name;
    }
    const bool ok = std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, trace::Mmap>) {
            const bool plain = o.fixed && !o.populate && !o.noreserve && !o.stack && !(o.prot & trace::PROT_X);
            if (!o.file) return plain && o.sharing != trace::Sharing::Droppable;
            // A read-write memfd mapping whose file indices stay inside max_pages, the file
            // index of its first page within int8 of the page.
            const std::uint64_t first = o.file->offset / PAGE_SIZE, pages = o.len / PAGE_SIZE;
            return plain && o.sharing == trace::Sharing::Shared && !o.file->ro &&
                   o.file->offset % PAGE_SIZE == 0 && first + pages <= max_pages;
          }
          else if constexpr (std::is_same_v<T, trace::Mprotect>) return !(o.prot & trace::PROT_X);
          else if constexpr (std::is_same_v<T, trace::Madvise>)
            return o.advice == trace::Advice::Dontneed || o.advice == trace::Advice::Pageout ||
                   o.advice == trace::Advice::Random || o.advice == trace::Advice::Normal;
          else if constexpr (std::is_same_v<T, trace::Reclaim>) return !o.addr && !o.len;
          // The context's EVENT_REMAP is the design's (vm::move_vma), never the operation's.
          else if constexpr (std::is_same_v<T, trace::UffdWp>) return !o.remap;
          else if constexpr (std::is_same_v<T, trace::Mremap>)
            return !o.dontunmap && (o.fixed ? o.maymove && o.old_len == o.new_len : !o.maymove);
          else
            return std::is_same_v<T, trace::Munmap> || std::is_same_v<T, trace::Write> ||
                   std::is_same_v<T, trace::Read> || std::is_same_v<T, trace::ClearRefs> ||
                   std::is_same_v<T, trace::Fork>;
        },
        l.op);
    if (!ok)
      return "the operation `" + trace::format_line(l) +
             "` (it covers mmap_anon, mmap_shared, mmap_memfd, munmap, mprotect, mprotect_none, mremap, "
             "madvise, random, normal, write, read, clear_refs, fork, uffd_wp and reclaim)";
  }
  return std::nullopt;
}

rules::rules(const policy& pol, const explore_options& opt, const std::vector<trace::Line>& alphabet)
    : pol_(pol), opt_(opt), base_(addr_to_pfn(opt.base)) {
  if (auto why = unsupported(pol, opt, alphabet))
    throw std::invalid_argument("--engine compact does not cover " + *why);
  for (const trace::Line& l : alphabet)
    if (const auto* m = std::get_if<trace::Mmap>(&l.op); m && m->file) memfd_name_ = m->file->name;
  granular_ = non_sd_reg_design(pol);
  coalesce_ = granular_ && coalesces(pol);
  sets_prot_ = pol.merge_sets_page_prot();
  event_remap_ = pol.emulates_soft_dirty_with_uffd_wp();
  auto page = [&](std::uint64_t addr) { return std::uint8_t(addr_to_pfn(addr) - base_); };
  auto pages = [&](std::uint64_t addr, std::uint64_t len) {
    return std::pair{page(addr), page(addr + len)};
  };
  // The policy asked once per flag value, on a one-page VMA at the window's start (no file,
  // pgoff at the address, no anon_vma: the covered designs decide from the flags alone, which
  // --cross-check holds them to).
  auto value = [](std::uint8_t bits) {
    vma_value v;
    v.vm_flags = vm_flags_of(bits);
    return v;
  };
  for (unsigned c = 0; c < 2; ++c) {
    mm_.cleared_refs = c;
    for (unsigned a = 0; a < flag_values; ++a) {
      const vma_ref ref{base_, base_ + 1, value(std::uint8_t(a))};
      for (unsigned b = 0; b < flag_values; ++b)
        if (pol.flags_mergeable(mm_, vm_flags_of(std::uint8_t(a)), vm_flags_of(std::uint8_t(b))))
          mergeable_[c][(a * flag_values + b) / 64] |= std::uint64_t(1) << ((a * flag_values + b) % 64);
      proposed_[c][a] = flag_bits_of(pol.proposed_new_flags(mm_, ref.v.vm_flags));
      vma_value m = ref.v;
      pol.mark_new(m, base_, base_ + 1, base_, base_ + 1);
      marked_[c][a] = flag_bits_of(m.vm_flags);
      vma_value v = ref.v;
      clear_changed_[c][a] = pol.clear_vma(mm_, v, base_, base_ + 1);
      cleared_[c][a] = clear_changed_[c][a] ? flag_bits_of(v.vm_flags) : std::uint8_t(a);
      mm_.non_sd_regs.clear();  // (granular's clear_vma made a list)
      tracking_[c][a] = pol.tracking_enabled(mm_, ref, base_);
      reports_dirty_[c][a] = pol.vma_reports_dirty(mm_, ref, base_);
      writenotify_[c][a] = pol.vma_wants_sd_writenotify(mm_, ref);
    }
  }
  for (const trace::Line& l : alphabet) {
    op o{};
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, trace::Mmap>) {
            const kind k = x.file ? kind::mmap_memfd : x.sharing == trace::Sharing::Shared ? kind::mmap_shared
                                                                                             : kind::mmap_anon;
            o = {k, page(x.addr), page(x.addr + x.len), x.prot};
            if (x.file) o.pgoff = std::int8_t(std::int64_t(x.file->offset / PAGE_SIZE) - o.start);
          } else if constexpr (std::is_same_v<T, trace::Mprotect>) {
            o = {kind::mprotect, page(x.addr), page(x.addr + x.len), x.prot};
          } else if constexpr (std::is_same_v<T, trace::Munmap>) {
            auto [a, b] = pages(x.addr, x.len);
            o = {kind::munmap, a, b, 0};
          } else if constexpr (std::is_same_v<T, trace::Write> || std::is_same_v<T, trace::Read>) {
            auto [a, b] = pages(x.addr, x.len);
            o = {std::is_same_v<T, trace::Write> ? kind::write : kind::read, a, b, 0};
          } else if constexpr (std::is_same_v<T, trace::Madvise>) {
            auto [a, b] = pages(x.addr, x.len);
            o = {kind::madvise, a, b, std::uint8_t(x.advice)};
          } else if constexpr (std::is_same_v<T, trace::Mremap>) {
            if (x.fixed) o = {kind::mremap_move, page(x.old_addr), page(x.old_addr + x.old_len), page(*x.fixed)};
            else o = {kind::mremap_resize, page(x.old_addr), page(x.old_addr + x.old_len), page(x.old_addr + x.new_len)};
          } else if constexpr (std::is_same_v<T, trace::UffdWp>) {
            auto [a, b] = pages(x.addr, x.len);
            o = {kind::uffd_wp, a, b, 0};
          } else if constexpr (std::is_same_v<T, trace::Fork>) {
            o = {kind::fork, 0, 0, 0};
          } else if constexpr (std::is_same_v<T, trace::Reclaim>) {
            o = {kind::reclaim, 0, 0, 0};
          } else {
            o = {kind::clear_refs, 0, 0, 0};
          }
        },
        l.op);
    // The arrays hold the window only: an operation reaching past it is refused here.
    const unsigned last = o.k == kind::mremap_move ? o.arg + (o.end - o.start)
                          : o.k == kind::mremap_resize ? std::max(o.end, o.arg) : o.end;
    if (o.start > o.end || last > opt.pages)
      throw std::invalid_argument("--engine compact: `" + trace::format_line(l) +
                                  "` reaches past the window of " + std::to_string(opt.pages) + " pages");
    ops_.push_back(o);
  }
}

std::uint8_t rules::merged_flags(bool cleared, merge_path path, std::uint8_t flags,
                                 const std::uint8_t* parts, std::size_t nparts) const {
  // Key: cleared_refs, path, flags, the number of parts and each part's flags (34 bits).
  constexpr unsigned bits = std::bit_width(flag_values - 1);
  static_assert(1 + 3 + 2 + 4 * bits <= 64);
  std::uint64_t key = ((std::uint64_t(cleared) << 3 | std::uint64_t(path)) << bits | flags) << 2 | std::uint64_t(nparts);
  for (std::size_t i = 0; i < 3; ++i) key = key << bits | (i < nparts ? parts[i] : 0u);
  ++key;
  merged_memo& slot = merged_[(key ^ key >> 8 ^ key >> 16 ^ key >> 24) & 255];
  if (slot.key != key) {
    vma_value v[3];
    for (std::size_t i = 0; i < nparts; ++i) v[i].vm_flags = vm_flags_of(parts[i]);
    mm_.cleared_refs = cleared;
    slot = {key, flag_bits_of(pol_.merged_flags(path, vm_flags_of(flags), {v, nparts}))};
  }
  return slot.flags;
}

bool rules::maps_files(const std::vector<trace::Line>& alphabet) {
  return std::ranges::any_of(alphabet, [](const trace::Line& l) {
    const auto* m = std::get_if<trace::Mmap>(&l.op);
    return m && (m->file || m->sharing == trace::Sharing::Shared);
  });
}

template <class S>
void rules::apply(S& s, std::size_t i) const {
  vm<S> m{s, *this};
  const op& o = ops_[i];
  switch (o.k) {
    case kind::mmap_anon: case kind::mmap_shared: case kind::mmap_memfd:
      m.mmap(o.start, o.end, o.arg, o.k, o.pgoff);
      break;
    case kind::munmap: m.munmap(o.start, o.end); break;
    case kind::mprotect: m.mprotect(o.start, o.end, o.arg); break;
    case kind::madvise: m.madvise(o.start, o.end, trace::Advice(o.arg)); break;
    case kind::fork: m.fork(); break;
    case kind::reclaim: m.reclaim(); break;
    case kind::mremap_move: m.mremap_move(o.start, o.end, o.arg); break;
    case kind::mremap_resize: m.mremap_resize(o.start, o.end, o.arg); break;
    case kind::uffd_wp: m.uffd_wp(o.start, o.end); break;
    case kind::write: m.access(o.start, o.end, true); break;
    case kind::read: m.access(o.start, o.end, false); break;
    case kind::clear_refs: m.clear_refs(); break;
  }
  m.rename();
}

template void rules::apply(state&, std::size_t) const;
template void rules::apply(anon_state&, std::size_t) const;

}  // namespace sdmc::compact
