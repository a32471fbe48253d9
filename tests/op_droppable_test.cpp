// MAP_DROPPABLE and the folio dirty state around it (kernel-6.12-semantics.md section 7;
// soft-dirty-bug-history.md B20): mm/mmap.c:do_mmap:451-478, mm/rmap.c:try_to_unmap_one,
// mm/vmscan.c:shrink_folio_list, mm/memory.c:zap_present_folio_ptes, mm/shmem.c.
// Each droppable scenario runs under both designs (model/droppable.hpp): Linux 6.12's
// "swapbacked" and the July 2024 "dirty-skip", which must look the same from userspace.
#include <filesystem>

#include "sim/generator.hpp"
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

constexpr droppable_design designs[] = {droppable_design::swapbacked, droppable_design::dirty_skip};

// vm_flags do_mmap gives MAP_DROPPABLE: no VM_ACCOUNT (VM_NORESERVE), never swapped.
constexpr vm_flags_t DROPPABLE_FLAGS = VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;

const memfile& file_of(scenario& s, const char* name) {
  return s.k.mm.file(*s.k.mm.find_file(name));
}
bool in(const pset& set, std::uint64_t index) { return boost::icl::contains(set, index); }

TEST(droppable, never_merges_with_ordinary_private_anon_on_either_side) {
  scenario s;
  const u64 g = s.guard(16);
  const u64 a = g + 1 * ps, d = g + 2 * ps, b = g + 3 * ps;
  s.mmap(a, 1, "rw-");
  s.mmap(b, 1, "rw-");
  s.mmap(d, 1, "rw-", "droppable fixed");
  // is_mergeable_vma: VM_DROPPABLE|VM_NORESERVE|VM_WIPEONFORK|VM_DONTDUMP against VM_ACCOUNT.
  s.expect_vmas(a, 3, 3);
  s.expect_flags(d, DROPPABLE_FLAGS, VM_ACCOUNT);
  s.expect_flags(a, VM_ACCOUNT, VM_DROPPABLE);
  // Making the neighbours alike in everything a flag change can reach still leaves them apart:
  // MADV_DONTDUMP and MADV_WIPEONFORK add two of the four, VM_ACCOUNT stays.
  s.madvise(a, 1, "dontdump");
  s.madvise(a, 1, "wipeonfork");
  s.expect_vmas(a, 3, 3);
  // An mremap move next to the droppable mapping does not merge either (copy_vma).
  s.mremap_fixed(b, 1, 1, g + 8 * ps);
  s.mremap_fixed(g + 8 * ps, 1, 1, b);
  s.expect_vmas(a, 3, 3);
}

TEST(droppable, two_adjacent_droppable_mappings_merge_like_private_anon) {
  scenario s;
  const u64 g = s.guard(16);
  const u64 d = g + 1 * ps;
  s.mmap(d, 1, "rw-", "droppable fixed");
  s.mmap(d + ps, 1, "rw-", "droppable fixed");
  s.expect_vmas(d, 2, 1);
  s.expect_flags(d, DROPPABLE_FLAGS, VM_ACCOUNT);
}

TEST(droppable, a_dropped_page_reads_zero_and_is_not_present_under_both_designs) {
  for (droppable_design design : designs) {
    SCOPED_TRACE(droppable_design_name(design));
    scenario s(/*swap=*/true);
    s.k.mm.droppable = design;
    const u64 g = s.guard(8);
    const u64 d = g + 1 * ps;
    s.mmap(d, 3, "rw-", "droppable fixed");
    s.write(d, 2);
    s.clear_refs();
    s.write(d);                       // dirty and soft-dirty
    s.madvise(d + ps, 1, "free");     // the clean-lazyfree path must agree
    s.read(d + 2 * ps);               // the zero page: vm_normal_folio is NULL, never reclaimed
    s.reclaim(d, 3);
    // try_to_unmap_one: discarded (6.12: even if dirty; dirty-skip: the folio never got dirty).
    s.expect_present(d, "001");
    s.expect_swapped(d, "000");
    s.expect_sd(d, "000");
    EXPECT_TRUE(s.pte(d).is_none());
    s.read(d, 2);                      // reads zeros: do_anonymous_page maps the zero page
    EXPECT_EQ(s.pte(d).page, pte_page::zero);
    EXPECT_EQ(s.pte(d + ps).page, pte_page::zero);
    // Oracle (B20, "present=0 and sd=0 => content is zero"): the store before the drop is not
    // a false negative, because the content it wrote is gone.
    s.finish();
    EXPECT_EQ(s.ghost.sd.false_negatives, 0u);
  }
}

TEST(droppable, reclaim_of_droppable_pages_leaves_every_other_page_alone) {
  for (droppable_design design : designs) {
    SCOPED_TRACE(droppable_design_name(design));
    scenario s(/*swap=*/true);
    s.k.mm.droppable = design;
    const u64 g = s.guard(16);
    const u64 a = g + 1 * ps, d = g + 3 * ps, m = g + 6 * ps;
    s.mmap(a, 2, "rw-");
    s.mmap(d, 2, "rw-", "droppable fixed");
    s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
    s.write(a, 2);
    s.write(d, 2);
    s.write(m, 2);
    s.clear_refs();
    s.write(a);
    s.read(m + ps);
    std::vector<pagemap_entry> before;
    for (u64 p = a; p < g + 16 * ps; p += ps) before.push_back(s.k.pagemap(pfn(p)));
    const memfile file_before = file_of(s, "m");
    s.reclaim(d, 2);
    for (u64 p = a, i = 0; p < g + 16 * ps; p += ps, ++i) {
      if (p >= d && p < d + 2 * ps) continue;
      EXPECT_EQ(s.k.pagemap(pfn(p)), before[i]) << "page " << hex(p);
    }
    EXPECT_EQ(file_of(s, "m"), file_before);
    s.expect_present(d, "00");
  }
}

// ---------------------------------------------------------------------------------------------
// The folio dirty state of shmem pages, which the droppable designs are about.

TEST(shmem_dirty, a_store_through_a_writable_pte_reaches_the_folio_when_reclaim_unmaps_it) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.read(m);  // VM_SOFTDIRTY set: no write-notify, a writable clean PTE (rule 8)
  EXPECT_TRUE(s.pte(m).write);
  s.write(m);  // no fault: the hardware dirty bit only
  EXPECT_TRUE(s.pte(m).dirty);
  EXPECT_FALSE(in(file_of(s, "m").dirty, 0));
  s.reclaim(m, 1);
  // try_to_unmap_one:1809-1810 folio_mark_dirty; shmem_writepage without swap keeps it.
  EXPECT_TRUE(in(file_of(s, "m").dirty, 0));
  EXPECT_TRUE(in(file_of(s, "m").cached, 0));
  s.read(m + ps);  // fault-around maps the kept page again
  s.expect_present(m, "11");
}

TEST(shmem_dirty, a_write_fault_dirties_the_folio_at_once) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.write(m);
  // do_shared_fault -> fault_dirty_shared_page:3193.
  EXPECT_TRUE(in(file_of(s, "m").dirty, 0));
}

TEST(shmem_dirty, a_clean_folio_leaves_the_page_cache_on_reclaim_with_or_without_swap) {
  for (bool swap : {false, true}) {
    SCOPED_TRACE(swap ? "swap on" : "swap off");
    scenario s(swap);
    const u64 g = s.guard(8);
    const u64 m = g + 1 * ps;
    s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
    s.read(m);  // shmem_get_folio_gfp: a new zeroed folio, uptodate, not dirty
    s.reclaim(m, 1);
    // shrink_folio_list: not dirty -> __remove_mapping; the slot is a hole, not a swap entry.
    EXPECT_FALSE(in(file_of(s, "m").cached, 0));
    EXPECT_FALSE(in(file_of(s, "m").swapped, 0));
    s.read(m + ps);
    s.expect_present(m, "01");  // fault-around has nothing to map
  }
}

TEST(shmem_dirty, the_zap_of_munmap_marks_the_folio_dirty) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.read(m);
  s.write(m);  // PTE dirty only
  s.munmap(m, 2);
  // zap_present_folio_ptes:1493-1496.
  EXPECT_TRUE(in(file_of(s, "m").dirty, 0));
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.read(m + ps);  // fault-around maps page 0 clean
  EXPECT_FALSE(s.pte(m).dirty);
  s.reclaim(m, 1);
  EXPECT_TRUE(in(file_of(s, "m").cached, 0));  // dirty: kept (no swap)
}

TEST(shmem_dirty, a_dirty_folio_goes_to_swap_and_comes_back_dirty) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.write(m);
  s.reclaim(m, 1);
  // shmem_writepage: the page cache slot holds the swap entry; no swap PTE (bit 62 stays 0).
  EXPECT_TRUE(in(file_of(s, "m").swapped, 0));
  EXPECT_FALSE(in(file_of(s, "m").cached, 0));
  s.expect_swapped(m, "00");
  s.madvise(m, 2, "willneed");  // shmem_swapin_range: the swap cache only
  s.read(m + ps);
  s.expect_present(m, "01");  // fault-around skips the swap entry
  s.read(m);
  // shmem_swapin_folio marks the folio dirty: reclaiming it again writes it to swap again.
  EXPECT_TRUE(in(file_of(s, "m").dirty, 0));
  s.reclaim(m, 1);
  EXPECT_TRUE(in(file_of(s, "m").swapped, 0));
}

TEST(shmem_dirty, a_hole_punch_forgets_the_data) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.write(m);
  EXPECT_TRUE(in(file_of(s, "m").written, 0));
  s.madvise(m, 1, "remove");
  EXPECT_FALSE(in(file_of(s, "m").written, 0));
  EXPECT_FALSE(in(file_of(s, "m").dirty, 0));
  EXPECT_FALSE(in(file_of(s, "m").cached, 0));
}

TEST(shmem_dirty, a_store_through_a_private_file_mapping_writes_a_copy_not_the_file) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 p = g + 1 * ps;
  s.mmap(p, 1, "rw-", "private file=m@0 fixed");
  s.write(p);  // do_cow_fault: an anon copy
  EXPECT_FALSE(in(file_of(s, "m").written, 0));
  EXPECT_FALSE(in(file_of(s, "m").dirty, 0));
}

TEST(shmem_dirty, dirty_skip_moves_dirty_bits_of_every_vma_that_is_not_droppable) {
  scenario s;
  s.k.mm.droppable = droppable_design::dirty_skip;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.read(m);
  s.write(m);
  s.reclaim(m, 1);
  EXPECT_TRUE(in(file_of(s, "m").cached, 0));
  EXPECT_TRUE(in(file_of(s, "m").written, 0));
}

// ---------------------------------------------------------------------------------------------
// dirty-skip is invisible from userspace: the same results, expectations and pagemap bits as
// 6.12 on every example trace and on generated droppable/shmem/reclaim traces.

std::vector<std::string> run_both(const trace::Trace& t, const pset& pages) {
  auto pol = make_policy("upstream-6.12");
  std::vector<std::string> differences;
  replay_options o6, od;
  od.droppable = droppable_design::dirty_skip;
  replayer a(t, *pol, o6), b(t, *pol, od);
  for (const trace::Line& l : t.lines) {
    a.step(l);
    b.step(l);
    if (!(a.results.back() == b.results.back()))
      differences.push_back("line " + std::to_string(l.lineno) + ": result");
    for (const auto& iv : pages)
      for (pfn_t p = iv.lower(); p < iv.upper(); ++p)
        if (!(a.k.pagemap(p) == b.k.pagemap(p)))
          differences.push_back("line " + std::to_string(l.lineno) + ": page " + hex(pfn_to_addr(p)));
  }
  a.finish();
  b.finish();
  if (!b.failures.empty()) differences.push_back("a failed expectation under dirty-skip");
  if (!(a.ghost.sd == b.ghost.sd)) differences.push_back("oracle counts");
  return differences;
}

TEST(dirty_skip, agrees_with_6_12_on_every_example_trace) {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(SDMC_SOURCE_DIR) / "traces" / "examples")) {
    if (e.path().extension() != ".sdt") continue;
    const trace::Trace t = trace::parse_file(e.path().string());
    EXPECT_EQ(run_both(t, touched_pages(t)), std::vector<std::string>{}) << e.path();
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(dirty_skip, agrees_with_6_12_on_generated_droppable_and_shmem_traces) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const generator_options o = droppable_mix(seed, 200, 32);
    const trace::Trace t = generate_trace(o);
    pset window;
    window += prange(addr_to_pfn(o.base), addr_to_pfn(o.base) + o.pages);
    EXPECT_EQ(run_both(t, window), std::vector<std::string>{}) << "seed " << seed;
  }
}

TEST(dirty_skip, the_droppable_mix_generates_what_it_is_for) {
  // The knob: half the anonymous mmaps droppable, shmem mappings, reclaim and reads.
  const trace::Trace t = generate_trace(droppable_mix(7, 2000, 32));
  int droppable = 0, shared = 0, reclaim = 0, read = 0;
  for (const trace::Line& l : t.lines) {
    if (const auto* m = std::get_if<trace::Mmap>(&l.op)) {
      droppable += m->sharing == trace::Sharing::Droppable;
      shared += m->sharing == trace::Sharing::Shared;
    }
    reclaim += std::holds_alternative<trace::Reclaim>(l.op);
    read += std::holds_alternative<trace::Read>(l.op);
  }
  EXPECT_GT(droppable, 60);  // ~ 2000 * 12/112 / 2
  EXPECT_GT(shared, 150);    // ~ 2000 * 12/112
  EXPECT_GT(reclaim, 150);
  EXPECT_GT(read, 150);
}

// ---------------------------------------------------------------------------------------------
// mutant droppable_dirty_skip_and (model/mutant.hpp): `!(vma->vm_flags && VM_DROPPABLE)`.

TEST(droppable_mutant, selecting_it_selects_the_dirty_skip_design) {
  scenario s;
  s.k.mm.bug = mutant::droppable_dirty_skip_and;
  EXPECT_EQ(s.k.droppable_mode(), droppable_design::dirty_skip);
}

TEST(droppable_mutant, dirty_skip_and_drops_a_written_shmem_page_as_clean) {
  for (bool bug : {false, true}) {
    SCOPED_TRACE(bug ? "with the && typo" : "dirty-skip as intended");
    scenario s;
    s.k.mm.droppable = droppable_design::dirty_skip;
    if (bug) s.k.mm.bug = mutant::droppable_dirty_skip_and;
    const u64 g = s.guard(8);
    const u64 m = g + 1 * ps;
    s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
    s.read(m);
    s.write(m);  // the data exists only behind the PTE's dirty bit
    s.reclaim(m, 1);
    const memfile& f = file_of(s, "m");
    // The data written is still in the page cache, or it is lost.
    EXPECT_EQ(in(f.cached, 0) || in(f.swapped, 0), !bug);
    EXPECT_TRUE(in(f.written, 0));
  }
}

TEST(droppable_mutant, dirty_skip_and_also_discards_a_redirtied_lazyfree_page) {
  for (bool bug : {false, true}) {
    SCOPED_TRACE(bug ? "with the && typo" : "dirty-skip as intended");
    scenario s;
    s.k.mm.droppable = droppable_design::dirty_skip;
    if (bug) s.k.mm.bug = mutant::droppable_dirty_skip_and;
    const u64 g = s.guard(8);
    const u64 a = g + 1 * ps;
    s.mmap(a, 1, "rw-");
    s.write(a);
    s.madvise(a, 1, "free");
    s.write(a);  // redirtied through the writable PTE: the folio may not be discarded
    s.reclaim(a, 1);
    // try_to_unmap_one:1885-1907: a dirty lazyfree folio is remapped and swap-backed again.
    s.expect_present(a, bug ? "0" : "1");
  }
}

}  // namespace
}  // namespace sdmc::test
