// The bounded model checker (sim/explorer.hpp) and its canonical state keys
// (sim/state_codec.hpp). Expected counts and depths are worked out by hand in the comments,
// from the rules in shared/kernel-6.12-semantics.md, not taken from a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "model/policy.hpp"
#include "sim/explorer.hpp"
#include "sim/generator.hpp"
#include "sim/replay.hpp"
#include "sim/state_codec.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {
namespace {

using namespace trace;

constexpr std::uint64_t BASE = 0x100000000, PS = 4096;
const state_window W{addr_to_pfn(BASE), 4};

Mmap anon(std::uint64_t page, std::uint64_t pages, std::uint8_t prot = PROT_R | PROT_W) {
  Mmap m;
  m.addr = BASE + page * PS;
  m.len = pages * PS;
  m.prot = prot;
  m.fixed = true;
  return m;
}
Mmap shared_anon(std::uint64_t page, std::uint64_t pages) {
  Mmap m = anon(page, pages);
  m.sharing = Sharing::Shared;
  return m;
}
Mmap memfd(std::uint64_t page, std::uint64_t pages) {
  Mmap m = shared_anon(page, pages);
  m.file = FileRef{"m", page * PS, false};
  return m;
}

struct machine {
  std::unique_ptr<policy> pol = make_policy("upstream-6.12");
  kernel k{*pol, true};
  oracle o;
  machine() { k.obs = &o; }
  std::string key() const {
    std::string s;
    encode_state(k, o, W, s);
    return s;
  }
};

// Runs a counterexample as `sdmc replay` does: written as text, parsed back, replayed.
// `keep` holds the parsed trace, which the replayer refers to.
std::unique_ptr<replayer> replay_text(const std::string& text, const policy& pol, Trace& keep) {
  keep = parse(text, "counterexample.sdt");
  auto r = std::make_unique<replayer>(keep, pol, replay_options{});
  for (const Line& l : keep.lines) r->step(l);
  r->finish();
  return r;
}

std::string ops_of(const std::vector<Line>& ops) {
  std::string s;
  for (const Line& l : ops) s += format_line(l) + "\n";
  return s;
}

// --- canonical keys -------------------------------------------------------------------------

TEST(StateCodec, TwoOrdersOfTheSameMappingsEncodeTheSame) {
  // vma_ids, anon_vma ids and shmem file ids depend on the order of creation; the key does not.
  machine a, b;
  a.k.sys_mmap(anon(0, 1));
  a.k.sys_mmap(shared_anon(2, 1));
  a.k.access(BASE, PS, true);
  b.k.sys_mmap(shared_anon(2, 1));
  b.k.sys_mmap(anon(0, 1));
  b.k.access(BASE, PS, true);
  EXPECT_NE(a.k.mm.find_vma(W.base)->v.vma_id, b.k.mm.find_vma(W.base)->v.vma_id);
  EXPECT_EQ(a.key(), b.key());
  // A store elsewhere is a different state.
  b.k.access(BASE + 2 * PS, PS, true);
  EXPECT_NE(a.key(), b.key());
}

TEST(StateCodec, AShmemFileNoVmaMapsIsGone) {
  // A shared-anonymous mapping's shmem file can only be reached through its VMAs: once
  // unmapped, the state is the empty address space again.
  machine a, b;
  a.k.sys_mmap(shared_anon(1, 2));
  a.k.sys_munmap(BASE + PS, 2 * PS);
  ASSERT_EQ(a.k.mm.files.size(), 1u);
  EXPECT_EQ(a.key(), b.key());
}

TEST(StateCodec, DecodeRestoresEveryPart) {
  machine m;
  m.k.sys_mmap(anon(0, 1));
  m.k.sys_mmap(memfd(1, 2));
  m.k.sys_mmap(shared_anon(3, 1));
  m.k.access(BASE, 4 * PS, true);
  m.k.clear_refs();
  m.k.access(BASE + PS, PS, true);
  m.k.reclaim(std::nullopt, std::nullopt);  // swap on: the anon page becomes a swap entry
  m.k.uffd_wp(BASE + 3 * PS, PS);
  m.k.mm.bug = mutant::swap_loses_soft_dirty;
  const std::string key = m.key();

  kernel k(*m.pol, false);
  oracle o;
  decode_state(key, W, k, o);
  std::string again;
  encode_state(k, o, W, again);
  EXPECT_EQ(again, key);
  EXPECT_EQ(k.mm.bug, mutant::swap_loses_soft_dirty);
  EXPECT_TRUE(k.mm.has_swap);
  EXPECT_TRUE(k.mm.uffd_ctx);
  EXPECT_TRUE(o.wp_tracking());
  EXPECT_EQ(k.mm.map_count(), m.k.mm.map_count());
  for (pfn_t p = W.base; p < W.base + W.pages; ++p) {
    EXPECT_EQ(k.pagemap(p), m.k.pagemap(p)) << "page " << p - W.base;
    EXPECT_EQ(k.mm.pte_at(p), m.k.mm.pte_at(p)) << "page " << p - W.base;
  }
  EXPECT_EQ(o.stored_since_clear, m.o.stored_since_clear);
  EXPECT_EQ(o.new_since_wp, m.o.new_since_wp);
  // The decoded kernel runs on: the same operation gives the same next state.
  k.obs = &o;
  k.access(BASE + 2 * PS, PS, true);
  m.k.access(BASE + 2 * PS, PS, true);
  std::string next;
  encode_state(k, o, W, next);
  EXPECT_EQ(next, m.key());
}

TEST(StateCodec, APageCacheFolioKeepsItsDirtyBit) {
  // A written shmem page goes to swap on reclaim; a read fault brings it back as a dirty folio
  // (mm/shmem.c:shmem_swapin_folio) under a clean PTE. The next reclaim must write it to swap
  // again, not drop it: the folio's PG_dirty (memfile::dirty) is part of the state.
  machine m;
  m.k.sys_mmap(memfd(0, 1));
  m.k.access(BASE, PS, true);
  m.k.reclaim(std::nullopt, std::nullopt);
  m.k.access(BASE, PS, false);
  const memfile& f = m.k.mm.file(*m.k.mm.find_file("m"));
  ASSERT_TRUE(boost::icl::contains(f.dirty, std::uint64_t{0}));
  ASSERT_FALSE(m.k.mm.pte_at(W.base).dirty);

  kernel k(*m.pol, true);
  oracle o;
  decode_state(m.key(), W, k, o);
  k.obs = &o;
  EXPECT_EQ(k.mm.file(*k.mm.find_file("m")).dirty, f.dirty);
  k.reclaim(std::nullopt, std::nullopt);
  m.k.reclaim(std::nullopt, std::nullopt);
  std::string after;
  encode_state(k, o, W, after);
  EXPECT_EQ(after, m.key());
  EXPECT_TRUE(boost::icl::contains(k.mm.file(*k.mm.find_file("m")).swapped, std::uint64_t{0}));
}

TEST(StateCodec, TheDroppableDesignTravelsWithTheKey) {
  machine m;
  m.k.mm.droppable = droppable_design::dirty_skip;
  kernel k(*m.pol, true);
  oracle o;
  decode_state(m.key(), W, k, o);
  EXPECT_EQ(k.mm.droppable, droppable_design::dirty_skip);
}

TEST(StateCodec, DecodedStatesBehaveLikeTheOriginals) {
  // Random walks over the whole default alphabet in four pages: at every step, the state
  // decoded from the key and then stepped must encode like the original stepped. A codec that
  // drops anything the rules read shows up here as a diverging key.
  auto pol = make_policy("upstream-6.12");
  explore_options opt;
  opt.pages = W.pages;
  const std::vector<Line> ops = make_alphabet(opt);
  splitmix64 rng(7);
  for (int walk = 0; walk < 3000; ++walk) {
    kernel k(*pol, true);
    oracle o;
    k.obs = &o;
    for (int step = 0; step < 12; ++step) {
      std::string before, direct, via_key;
      encode_state(k, o, W, before);
      kernel d(*pol, true);
      oracle od;
      decode_state(before, W, d, od);
      d.obs = &od;
      const Line& l = ops[rng.below(ops.size())];
      const Result r1 = apply_op(k, l), r2 = apply_op(d, l);
      EXPECT_EQ(r1, r2) << "walk " << walk << " step " << step << ": " << format_line(l);
      encode_state(k, o, W, direct);
      encode_state(d, od, W, via_key);
      ASSERT_EQ(direct, via_key) << "walk " << walk << " step " << step << ": " << format_line(l);
      EXPECT_EQ(o.judge_sd(k).false_negatives, od.judge_sd(d).false_negatives);
    }
  }
}

TEST(StateCodec, SomethingOutsideTheWindowIsAnError) {
  machine m;
  m.k.sys_mmap(anon(4, 1));  // the page after the window
  std::string key;
  EXPECT_THROW(encode_state(m.k, m.o, W, key), codec_error);
}

// --- the search -------------------------------------------------------------------------------

TEST(Explorer, OnePageMmapWriteClearRefsHasNineStates) {
  // By hand, one page, {mmap rw- private, write, clear_refs}, no swap. States (cl = clear_refs
  // has run, which the precise design consults):
  //  depth 0: S0 empty.
  //  depth 1: S1 mapped (VM_SOFTDIRTY, no anon_vma, no PTE, new); S2 empty, cl.
  //           (write in S0 is SIGSEGV: S0 again.)
  //  depth 2: S3 = S1 + write (anon_vma, PTE writable dirty soft-dirty, table, stored);
  //           S4 = S1 + clear_refs (flag cleared, nothing new, cl); S5 = S2 + mmap (S1, cl).
  //           (mmap over S1 replaces it by an equal VMA: S1 again.)
  //  depth 3: S6 = S3 + clear_refs (flag clear, PTE write-protected and clean, cl);
  //           S7 = S4 + write (first-touch PTE soft-dirty under a clean VMA, cl);
  //           S8 = S5 + write (S3, cl).
  //  nothing new after: every mmap gives S1 or S5 (the old PTE, anon_vma and table go),
  //  S6 + write is S7 (do_wp_page reuses the page: writable, dirty, soft-dirty), every
  //  clear_refs after a store gives S6, and S7 + clear_refs, S8 + clear_refs are S6.
  // Back to their own state (10): write in S0 and S2 (SIGSEGV); mmap in S1 and S5 (an equal
  // VMA); write in S3, S7 and S8 (the PTE is writable, dirty and soft-dirty already: no
  // fault); clear_refs in S2, S4 and S6 (nothing left to clear).
  auto pol = make_policy("upstream-6.12");
  explore_options o;
  o.pages = 1;
  o.depth = 6;
  o.ops = "mmap_anon_rw,write,clear_refs";
  o.swap = false;
  explore_result r = explore(*pol, o);
  EXPECT_EQ(r.states, 9u);
  EXPECT_EQ(r.transitions, 27u);  // 9 states x 3 operations, each state expanded once
  EXPECT_EQ(r.self_loops, 10u);
  EXPECT_EQ(r.states_at_depth, (std::vector<std::uint64_t>{1, 2, 3, 3, 0}));
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.violation);
  EXPECT_EQ(r.finding_states, 0u);
}

TEST(Explorer, AlphabetCoversEveryAlignedRange) {
  explore_options o;
  o.pages = 4;
  o.ops = "munmap,clear_refs";
  // 4 + 3 + 2 + 1 = 10 (start, len) pairs for munmap, and one clear_refs.
  EXPECT_EQ(make_alphabet(o).size(), 11u);
  o.ops = "mremap_move";
  // Same-length moves to every non-overlapping start: len 1: 4 x 3, len 2: [0,2)<->[2,4): 2.
  EXPECT_EQ(make_alphabet(o).size(), 14u);
  o.ops = "mremap_grow,mremap_shrink";
  // One in-place resize per ordered pair of different lengths that fit: 2 x (3+2+1 + 2+1 + 1).
  EXPECT_EQ(make_alphabet(o).size(), 20u);
}

TEST(Explorer, BadFamilyOrWindowIsRejected) {
  explore_options o;
  o.ops = "mmap,mmapp";
  try {
    make_alphabet(o);
    FAIL() << "an unknown family was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'mmapp'"), std::string::npos) << e.what();
  }
  o.ops = "";
  o.pages = 0;
  EXPECT_THROW(make_alphabet(o), std::invalid_argument);
  o.pages = 17;
  EXPECT_THROW(make_alphabet(o), std::invalid_argument);
  o.pages = 4;
  o.ops = ",";
  EXPECT_THROW(make_alphabet(o), std::invalid_argument);
}

// Sequence C of the semantics (2.5): a madvise merge leaves a clean VMA with the writable
// vm_page_prot of the fresh one, so a read then a write of a not-present page take no write
// fault. With {mmap rw- of the memfd, MADV_RANDOM, MADV_NORMAL, clear_refs, read, write} in
// two pages the shortest false negative needs, by hand:
//  - a clear_refs (before it every VMA has VM_SOFTDIRTY, and every merge result keeps it);
//  - a VMA mapped before it (x, clean afterwards) and one after it (p: soft-dirty, writable
//    prot); x's flags must differ from p's at p's mmap, or the mmap merge marks both dirty,
//    and only MADV_RANDOM can make them differ; MADV_NORMAL then merges them, clean;
//  - a read (a write fault on a not-present page is soft-dirty) and then a write.
// So 7 operations: mmap, random, clear_refs, mmap, normal, read, write (or the read and write
// before the merge). The lost new mapping comes two operations earlier: p reads 0 right after
// the merge.
explore_options sequence_c_bound(unsigned depth) {
  explore_options o;
  o.pages = 2;
  o.depth = depth;
  o.ops = "mmap_memfd_rw,random,normal,clear_refs,read,write";
  o.soundness_is_finding = true;
  return o;
}

// The steps of sequence C (semantics 2.5): two mappings, madvise random then normal (the merge
// that keeps a stale vm_page_prot), one clear_refs, and the store last.
void expect_sequence_c_shape(const std::vector<Line>& ops) {
  auto count = [&](auto pred) { return std::count_if(ops.begin(), ops.end(), pred); };
  auto advice = [](Advice a) {
    return [a](const Line& l) { auto* m = std::get_if<Madvise>(&l.op); return m && m->advice == a; };
  };
  EXPECT_EQ(count([](const Line& l) { return std::holds_alternative<Mmap>(l.op); }), 2) << ops_of(ops);
  EXPECT_EQ(count(advice(Advice::Random)), 1) << ops_of(ops);
  EXPECT_EQ(count(advice(Advice::Normal)), 1) << ops_of(ops);
  EXPECT_EQ(count([](const Line& l) { return std::holds_alternative<ClearRefs>(l.op); }), 1) << ops_of(ops);
  EXPECT_TRUE(std::holds_alternative<Write>(ops.back().op)) << ops_of(ops);
}

TEST(Explorer, FindsSequenceCUnderUpstreamAtDepthSeven) {
  auto pol = make_policy("upstream-6.12");
  explore_result r = explore(*pol, sequence_c_bound(7));
  EXPECT_TRUE(r.complete);  // findings do not stop the search under the baseline
  EXPECT_FALSE(r.violation);
  ASSERT_TRUE(r.false_negative);
  EXPECT_EQ(r.false_negative->ops.size(), 7u) << ops_of(r.false_negative->ops);
  ASSERT_TRUE(r.lost_new_mapping);
  EXPECT_EQ(r.lost_new_mapping->ops.size(), 5u) << ops_of(r.lost_new_mapping->ops);

  // Its shape: the steps of sequence C.
  const auto& ops = r.false_negative->ops;
  expect_sequence_c_shape(ops);

  // The written trace, replayed as `sdmc replay --policy upstream-6.12` does, checks every
  // result and shows the false negative.
  Trace t;
  auto rp = replay_text(write(counterexample_trace(*pol, sequence_c_bound(7), ops)), *pol, t);
  EXPECT_TRUE(rp->failures.empty());
  EXPECT_GE(rp->ghost.sd.false_negatives, 1u);
}

TEST(Explorer, NoFalseNegativeInSixOperationsOfSequenceC) {
  auto pol = make_policy("upstream-6.12");
  explore_result r = explore(*pol, sequence_c_bound(6));
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.false_negative) << ops_of(r.false_negative->ops);
  EXPECT_TRUE(r.lost_new_mapping);
}

TEST(Explorer, StickyHasNoViolationAtTheSameBound) {
  // The November 2025 fix ORs VM_SOFTDIRTY into every merge: the madvise merge stays dirty.
  auto pol = make_policy("sticky");
  explore_options o = sequence_c_bound(7);
  o.soundness_is_finding = false;
  explore_result r = explore(*pol, o);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.violation) << r.violation->what << ": " << ops_of(r.violation->ops);
  EXPECT_GT(r.states, 100u);
}

TEST(Explorer, GranularHasNoViolationAtTheSameBound) {
  // The granular design as the RFC had it missed a store here in 7 operations: madvise merged
  // a clean VMA into a new one whose vm_page_prot was writable, so the store after a read
  // fault did not fault (kernel/tests/granular/C-store-after-merge.sdt). With write-notify
  // following the ranges through merges too (policy::merge_sets_page_prot; the granular
  // kernel's patch 0006) the store is seen.
  auto pol = make_policy("granular");
  explore_options o = sequence_c_bound(7);
  o.soundness_is_finding = false;
  o.precision = true;
  explore_result r = explore(*pol, o);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.violation) << r.violation->what << ": " << ops_of(r.violation->ops);
}

TEST(Explorer, AViolationStopsTheSearchWithAShortestTrace) {
  // Not the baseline: the first lost new mapping is a violation, found at depth 5 (above).
  auto pol = make_policy("upstream-6.12");
  explore_options o = sequence_c_bound(7);
  o.soundness_is_finding = false;
  explore_result r = explore(*pol, o);
  ASSERT_TRUE(r.violation);
  EXPECT_EQ(r.violation->what, "lost new mapping");
  EXPECT_EQ(r.violation->ops.size(), 5u);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.depth_done, 4u);
}

TEST(Explorer, ExtraCheckSeesEveryStateAndItsFailureIsAViolation) {
  // A made-up invariant "no VMA has VM_RAND_READ" fails first after mmap, random: depth 2.
  auto pol = make_policy("sticky");
  explore_options o = sequence_c_bound(7);
  o.bug = mutant::mremap_move_not_soft_dirty;
  std::uint64_t checked = 0;
  bool bug_everywhere = true;
  o.extra_check = [&](const kernel& k, const oracle&) -> std::optional<std::string> {
    ++checked;
    bug_everywhere &= k.mm.bug == mutant::mremap_move_not_soft_dirty;
    for (const vma_ref& v : k.mm.all_vmas())
      if (v.v.vm_flags & VM_RAND_READ) return "a VMA with VM_RAND_READ";
    return std::nullopt;
  };
  explore_result r = explore(*pol, o);
  ASSERT_TRUE(r.violation);
  EXPECT_EQ(r.violation->what, "invariant");
  EXPECT_EQ(r.violation->detail, "a VMA with VM_RAND_READ");
  ASSERT_EQ(r.violation->ops.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Madvise>(r.violation->ops[1].op));
  // Every distinct state (the initial one included), and the violating state once more when
  // the counterexample is verified by replaying it from the initial state.
  EXPECT_EQ(checked, r.states + 1);
  EXPECT_TRUE(bug_everywhere);   // the mutant is part of every state
}

TEST(Explorer, SameArgumentsSameResult) {
  auto pol = make_policy("upstream-6.12");
  explore_options o;
  o.pages = 3;
  o.depth = 4;  // mmap, clear_refs, mmap next to it, mprotect merging the two (sequence B)
  o.ops = "mmap_anon,mprotect,clear_refs,write";
  o.soundness_is_finding = true;
  explore_result a = explore(*pol, o), b = explore(*pol, o);
  EXPECT_EQ(a.states, b.states);
  EXPECT_EQ(a.transitions, b.transitions);
  EXPECT_EQ(a.states_at_depth, b.states_at_depth);
  ASSERT_TRUE(a.lost_new_mapping && b.lost_new_mapping);
  EXPECT_EQ(ops_of(a.lost_new_mapping->ops), ops_of(b.lost_new_mapping->ops));
}

TEST(Explorer, MaxStatesStopsEarly) {
  auto pol = make_policy("upstream-6.12");
  explore_options o;
  o.pages = 3;
  o.depth = 4;
  o.max_states = 1000;
  o.soundness_is_finding = true;
  explore_result r = explore(*pol, o);
  EXPECT_EQ(r.states, 1000u);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.violation);
}

}  // namespace
}  // namespace sdmc
