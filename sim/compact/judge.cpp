// The compact state judged (what sim/explorer.cpp:failures finds, as bits), rebuilt as the
// model holds it, and fingerprinted.
#include <cstring>

#include <fmt/format.h>

#include "sim/compact/rules.hpp"

namespace sdmc::compact {

namespace {
// 64x64->128 multiply folded to 64 bits (the mixing step of wyhash).
inline std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return std::uint64_t(r) ^ std::uint64_t(r >> 64);
}
// The secrets of both hashes (the narrow state's use the first eight).
constexpr std::uint64_t k[16] = {
    0xa0761d6478bd642full, 0xe7037ed1a0b428dbull, 0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull,
    0x1d8e4e27c47d124full, 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
    0x2d358dccaa6c78a5ull, 0x8bb84b93962eacc9ull, 0x4b33a62ed433d4a3ull, 0x4d5a2da51de1aa47ull,
    0xd6e8feb86659fd93ull, 0xa3b195354a39b70dull, 0x1b03738712fad5c9ull, 0xff51afd7ed558ccdull};
}  // namespace

fingerprint128 fingerprint(const state& s) {
  // Two independent wyhash-style hashes of the state's words (different secrets and pairings),
  // a third of the cost of MurmurHash3 over the same bytes, which was a fifth of the engine's
  // time. Every word enters each hash; the memory files' six words only when one exists
  // (a state without files hashes ten words).
  static_assert(sizeof(state) == 128 && offsetof(state, files) == 80);
  std::uint64_t w[16];
  std::memcpy(w, &s, sizeof w);
  std::uint64_t a0 = mum(w[0] ^ k[0], w[1] ^ k[1]), a1 = mum(w[2] ^ k[2], w[3] ^ k[3]),
                a2 = mum(w[4] ^ k[4], w[5] ^ k[5]) ^ mum(w[8] ^ k[8], w[9] ^ k[9]),
                a3 = mum(w[6] ^ k[6], w[7] ^ k[7]);
  std::uint64_t b0 = mum(w[0] ^ k[5], w[3] ^ k[6]), b1 = mum(w[1] ^ k[7], w[4] ^ k[2]),
                b2 = mum(w[2] ^ k[1], w[5] ^ k[0]) ^ mum(w[7] ^ k[10], w[8] ^ k[11]),
                b3 = mum(w[6] ^ k[3], w[9] ^ k[4]);
  if (w[10] | w[11] | w[12] | w[13] | w[14] | w[15]) {
    a0 ^= mum(w[10] ^ k[12], w[11] ^ k[13]), a1 ^= mum(w[12] ^ k[14], w[13] ^ k[15]);
    a3 ^= mum(w[14] ^ k[8], w[15] ^ k[10]);
    b0 ^= mum(w[10] ^ k[9], w[13] ^ k[11]), b1 ^= mum(w[11] ^ k[15], w[14] ^ k[12]);
    b3 ^= mum(w[12] ^ k[13], w[15] ^ k[14]);
  }
  return {mum(a0 ^ a3 ^ k[6], a1 ^ a2), mum(b0 ^ b3 ^ k[3], b1 ^ b2 ^ k[7])};
}

// The state without memory files: its eight words, hashed as the wide state's first ten are
// (the same secrets and lanes, words 8 and 9 left out).
fingerprint128 fingerprint(const anon_state& s) {
  static_assert(sizeof(anon_state) == 64);
  std::uint64_t w[8];
  std::memcpy(w, &s, sizeof w);
  const std::uint64_t a0 = mum(w[0] ^ k[0], w[1] ^ k[1]), a1 = mum(w[2] ^ k[2], w[3] ^ k[3]),
                      a2 = mum(w[4] ^ k[4], w[5] ^ k[5]), a3 = mum(w[6] ^ k[6], w[7] ^ k[7]);
  const std::uint64_t b0 = mum(w[0] ^ k[5], w[3] ^ k[6]), b1 = mum(w[1] ^ k[7], w[4] ^ k[2]),
                      b2 = mum(w[2] ^ k[1], w[5] ^ k[0]), b3 = mum(w[6] ^ k[3], w[7] ^ k[4]);
  return {mum(a0 ^ a3 ^ k[6], a1 ^ a2), mum(b0 ^ b3 ^ k[3], b1 ^ b2 ^ k[7])};
}

template <class S>
std::string describe(const S& s) {
  std::string o = "pte";
  for (std::uint8_t b : s.pte) o += fmt::format(" {:02x}", b);
  o += "; vmas";
  for (unsigned i = 0; i < s.nvma; ++i)
    o += fmt::format(" [{}-{} anon {} flags {:02x} pgoff {} file {} prot_write {}]", s.vma[i].start, s.vma[i].end,
                     s.vma[i].anon, s.vma[i].flags, int(s.vma[i].pgoff), s.vma[i].file, s.vma[i].page_prot_write);
  o += fmt::format("; table {} cleared {} uffd {}; stored {:02x} new {:02x} moved {:02x} moved_pte {:02x} zapped {:02x}",
                   s.table, s.cleared, s.uffd_ctx, s.stored, s.fresh, s.moved, s.moved_pte, s.zapped);
  if (s.wp_tracking) o += fmt::format(" stored_wp {:02x} new_wp {:02x}", s.stored_wp, s.new_wp);
  if (s.nsd_covered) o += fmt::format("; non_sd_reg covered {:02x} starts {:02x}", s.nsd_covered, s.nsd_start);
  if constexpr (S::has_files)
    for (unsigned id = 1; id <= max_files; ++id)
      if (const cfile& f = s.files[id - 1]; f.size)
        o += fmt::format("; file {} size {} cached {:02x} dirty {:02x} swapped {:02x} written {:02x}", id, f.size,
                         f.cached, f.dirty, f.swapped, f.written);
  return o;
}
template std::string describe(const state&);
template std::string describe(const anon_state&);

unsigned failure_bits(const std::vector<state_failure>& f) {
  unsigned out = 0;
  for (const state_failure& x : f) {
    unsigned bit = 0;
    for (const auto& [b, what] : failure_names)
      if (x.what == what) bit = b;
    if (!bit) throw std::logic_error("compact engine: a property it does not know: " + x.what);
    out |= bit;
  }
  return out;
}

template <class S>
unsigned rules::judge(const S& s) const {
  using cvma = typename S::vma_type;
  unsigned out = 0;
  // Per page: the VMA's part of bit 55 (policy::vma_reports_dirty; none under the uffd-wp
  // design, whose bit 55 is PAGE_IS_WRITTEN), whether a VMA maps it and whether that VMA is
  // registered for uffd-wp.
  const bool uffd_design = pol_.emulates_soft_dirty_with_uffd_wp();
  // policy::vma_reports_dirty for page p of v (granular: p not covered by a node).
  auto reports_dirty = [&](const cvma& v, unsigned p) {
    return granular_ ? !(s.nsd_covered >> p & 1) : reports_dirty_[s.cleared][v.flags];
  };
  bool mapped[max_pages] = {}, vma_bit[max_pages] = {}, registered[max_pages] = {};
  unsigned prev_end = 0;
  for (unsigned i = 0; i < s.nvma; ++i) {
    const cvma& v = s.vma[i];
    // sim/invariants.cpp:check_vmas: sorted, disjoint, not empty.
    if (v.start >= v.end || v.start < prev_end) out |= FAIL_INVARIANT;
    prev_end = v.end;
    // mutant pte_hole_ignores_vma: a range without a page table read clean whatever the VMA.
    const bool hole_clean = !s.table && opt_.bug == mutant::pte_hole_ignores_vma;
    const bool wp = v.flags & F_UFFD_WP;
    for (unsigned p = v.start; p < v.end && p < max_pages; ++p)
      mapped[p] = true, vma_bit[p] = !uffd_design && !hole_clean && reports_dirty(v, p), registered[p] = wp;
  }
  // mutant gap_uses_next_vma_flag (kernel::vma_soft_dirty_pages): an unmapped gap reads the
  // VM_SOFTDIRTY of the next VMA above it, the gap below the window the first VMA's; then
  // sim/invariants.cpp:check_gaps_read_clean fails.
  if (opt_.bug == mutant::gap_uses_next_vma_flag && !uffd_design && s.nvma) {
    // Pages below the window were never stored to nor mapped: with precision, false positives.
    if (reports_dirty(s.vma[0], s.vma[0].start))
      out |= FAIL_INVARIANT | (opt_.precision ? FAIL_FALSE_POSITIVE : 0u);
    for (unsigned i = s.nvma, p = opt_.pages; p-- > 0;) {
      while (i > 0 && s.vma[i - 1].start > p) --i;  // s.vma[i] is the first VMA above p
      if (!mapped[p]) vma_bit[p] = i < s.nvma && reports_dirty(s.vma[i], s.vma[i].start);
    }
  }
  // kernel::scan_written: PAGE_IS_WRITTEN of a page of a VMA. Without a table: written only in
  // a uffd-wp VMA; pte_none: written (not under the mutant scan_zapped_pte_not_written); else
  // unless uffd-wp protected (a marker is).
  auto written = [&](unsigned p) {
    if (!s.table) return registered[p];
    if (!s.pte[p]) return opt_.bug != mutant::scan_zapped_pte_not_written;
    return !(s.pte[p] & PTE_UFFD_WP);
  };
  const bool tracked_writes = pol_.keeps_writes_tracked(), signals = pol_.signals_new_mappings();
  // sim/state_check.cpp:shmem_data_lost: written file pages stay in the page cache or swap,
  // dirty folios in the page cache.
  if constexpr (S::has_files)
    for (const cfile& f : s.files)
      if ((f.written & ~(f.cached | f.swapped)) || (f.dirty & ~f.cached)) out |= FAIL_INVARIANT;
  // check_writes_tracked: a tracked shared-writable VMA keeps write-notify.
  if (tracked_writes)
    for (unsigned i = 0; i < s.nvma; ++i) {
      const cvma& v = s.vma[i];
      if ((v.flags & (F_SHARED | F_WRITE)) != (F_SHARED | F_WRITE) || !v.page_prot_write) continue;
      if (wants_writenotify(s, v)) out |= FAIL_INVARIANT;
    }
  for (unsigned p = 0; p < opt_.pages; ++p) {
    const std::uint8_t pte = s.pte[p];
    // check_ptes: no PTE outside a VMA or without a table (which also keeps gaps clean).
    if (pte && (!mapped[p] || !s.table)) out |= FAIL_INVARIANT;
    if (!mapped[p] && vma_bit[p]) out |= FAIL_INVARIANT;  // check_gaps_read_clean (the mutant)
    const bool bit = uffd_design ? mapped[p] && written(p) : vma_bit[p] || (pte & PTE_SOFT_DIRTY);
    // A page holding data: present and not the zero page (an anon or page-cache page), or swapped.
    const bool data = ((pte & PTE_PRESENT) && (pte & (PTE_ANON | PTE_FILE))) || (pte & PTE_SWAP);
    const bool stored = s.stored >> p & 1, fresh = s.fresh >> p & 1;
    // check_writes_tracked: a page that reads clean must fault on the next store.
    // (Under uffd-wp bit 55 is PAGE_IS_WRITTEN, so a soft-dirty PTE is exempt on its own.)
    if (tracked_writes && (pte & PTE_PRESENT) && (pte & PTE_WRITE) && !(pte & PTE_SOFT_DIRTY) && !bit)
      out |= FAIL_INVARIANT;
    // oracle::judge_sd. A page mremap placed without it being new at its source, or a grown
    // tail, reads clean by the kernel's own rule (a kernel gap, oracle::moved), unless it came
    // with its PTE and still holds that data.
    // A file page zapped and faulted back without a store reads clean by the kernel's rule
    // (oracle::zapped_kept: its content did not change through this address).
    if (stored && data && !bit && !(s.zapped >> p & 1)) out |= FAIL_FALSE_NEGATIVE;
    const bool moved_gap = (s.moved >> p & 1) && !((s.moved_pte >> p & 1) && data);
    if (signals && fresh && !bit && !moved_gap) out |= FAIL_LOST_NEW_MAPPING;
    if (opt_.precision && bit && !stored && !fresh) out |= FAIL_FALSE_POSITIVE;
    // oracle::judge_written, once a write-protect reset has happened: a page of a registered
    // VMA stored to since its reset reads written, whether or not it still holds data.
    if (s.wp_tracking && registered[p] && (s.stored_wp >> p & 1) && !written(p))
      out |= FAIL_WRITTEN_FALSE_NEGATIVE;
  }
  return out;
}

template <class S>
void rules::to_model(const S& s, kernel& k, oracle& o) const {
  // As sim/state_codec.cpp:decode_state rebuilds a key: a fresh kernel, identities renamed.
  mm_struct& mm = k.mm;
  mm.bug = opt_.bug;
  mm.droppable = opt_.droppable;
  mm.cleared_refs = s.cleared;
  mm.uffd_ctx = s.uffd_ctx;
  mm.uffd_event_remap = s.uffd_ctx && event_remap_;
  // The oracle keeps write-protect sets from its first reset on; an empty reset arms it.
  if (s.wp_tracking) o.wp_reset(base_, base_);
  if (s.table) mm.alloc_tables(base_, base_ + 1);
  // The files: the memfd first (named), then the shared-anon ones in id order.
  file_id ids[max_files + 1] = {};
  if constexpr (S::has_files)
    for (unsigned id = 1; id <= max_files; ++id) {
      const cfile& c = s.files[id - 1];
      if (!c.size) continue;
      memfile f;
      if (id == MEMFD) f.name = memfd_name_;
      f.shared_anon = id != MEMFD;
      f.size_pages = c.size;
      for (unsigned i = 0; i < max_pages; ++i) {  // (a file has at most max_pages pages)
        const prange at(i, i + 1);
        if (c.cached >> i & 1) f.cached += at;
        if (c.dirty >> i & 1) f.dirty += at;
        if (c.swapped >> i & 1) f.swapped += at;
        if (c.written >> i & 1) f.written += at;
      }
      ids[id] = mm.add_file(std::move(f));
    }
  unsigned max_anon = 0;
  for (unsigned i = 0; i < s.nvma; ++i) {
    const typename S::vma_type& c = s.vma[i];
    vma_value v;
    v.vm_flags = vm_flags_of(c.flags);
    v.anon_vma = c.anon;
    // A file's pgoff is an index (of window page p: p + pgoff), an anonymous one an address.
    v.file = ids[c.file];
    v.pgoff_delta = c.file ? std::int64_t(c.pgoff) - std::int64_t(base_) : c.pgoff;
    v.page_prot_write = c.page_prot_write;
    v.vma_id = mm.new_vma_id();
    max_anon = std::max<unsigned>(max_anon, c.anon);
    mm.insert_vma(base_ + c.start, base_ + c.end, v);
    // The VMA's non_sd_reg list: its covered runs, split at node starts.
    std::vector<non_sd_reg> nodes;
    for (unsigned p = c.start; p < c.end; ++p) {
      if (!(s.nsd_covered >> p & 1)) continue;
      if (nodes.empty() || nodes.back().end != base_ + p || (s.nsd_start >> p & 1))
        nodes.push_back(non_sd_reg{base_ + p, base_ + p + 1});
      else
        ++nodes.back().end;
    }
    if (!nodes.empty()) mm.non_sd_regs[v.vma_id] = std::move(nodes);
  }
  while (mm.new_anon_vma() < max_anon) {}
  for (unsigned p = 0; p < opt_.pages; ++p) {
    const std::uint8_t b = s.pte[p];
    if (!b) continue;
    pte_t pte;
    pte.kind = b & PTE_SWAP ? pte_kind::swap : b & PTE_PRESENT ? pte_kind::present : pte_kind::marker;
    pte.page = b & PTE_ANON ? pte_page::anon : pte_is_file(b) ? pte_page::file : pte_page::zero;
    pte.uffd_wp = b & PTE_UFFD_WP;
    pte.write = b & PTE_WRITE;
    pte.dirty = b & PTE_DIRTY;
    pte.soft_dirty = b & PTE_SOFT_DIRTY;
    pte.anon_exclusive = (b & (PTE_ANON | PTE_SWAP)) && (b & PTE_EXCLUSIVE);
    mm.set_ptes(base_ + p, base_ + p + 1, pte);
  }
  for (unsigned p = 0; p < opt_.pages; ++p) {
    if (s.stored >> p & 1) o.stored_since_clear += prange(base_ + p, base_ + p + 1);
    if (s.fresh >> p & 1) o.new_since_clear += prange(base_ + p, base_ + p + 1);
    if (s.moved >> p & 1) o.moved_since_clear += prange(base_ + p, base_ + p + 1);
    if (s.moved_pte >> p & 1) o.moved_pte_since_clear += prange(base_ + p, base_ + p + 1);
    if (s.zapped >> p & 1) o.zapped_since_clear += prange(base_ + p, base_ + p + 1);
    if (s.stored_wp >> p & 1) o.stored_since_wp += prange(base_ + p, base_ + p + 1);
    if (s.new_wp >> p & 1) o.new_since_wp += prange(base_ + p, base_ + p + 1);
  }
}

template unsigned rules::judge(const state&) const;
template unsigned rules::judge(const anon_state&) const;
template void rules::to_model(const state&, kernel&, oracle&) const;
template void rules::to_model(const anon_state&, kernel&, oracle&) const;

}  // namespace sdmc::compact
