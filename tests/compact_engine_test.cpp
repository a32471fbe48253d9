// The explorer's compact engine (sim/compact/rules.hpp) against the model engine: the same
// search must come out of both (every count, every reported trace), the cross-check must catch
// a design the compact engine tabulates wrongly, and what the engine does not cover is refused
// by name.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

#include "model/policies/sticky.hpp"
#include "model/policies/upstream_612.hpp"
#include "model/policy.hpp"
#include "sim/compact/rules.hpp"
#include "sim/explorer.hpp"
#include "sim/state_codec.hpp"

namespace sdmc {
namespace {

// Private anonymous memory alone (deeper bounds in the same time), and everything the
// engine covers: shared anonymous and memfd mappings too.
constexpr std::string_view ANON_OPS = compact_anon_ops;
constexpr std::string_view ALL_OPS = compact_ops;

explore_options bound(unsigned pages, unsigned depth, explore_engine e, std::string_view ops = ANON_OPS) {
  explore_options o;
  o.pages = pages;
  o.depth = depth;
  o.ops = std::string(ops);
  o.engine = e;
  return o;
}

std::string lines(const std::vector<trace::Line>& ops) {
  std::string s;
  for (const trace::Line& l : ops) s += trace::format_line(l) + "\n";
  return s;
}

void expect_same_counterexample(const std::optional<explore_counterexample>& a,
                                const std::optional<explore_counterexample>& b, const char* which) {
  ASSERT_EQ(a.has_value(), b.has_value()) << which;
  if (!a) return;
  EXPECT_EQ(a->what, b->what) << which;
  EXPECT_EQ(a->detail, b->detail) << which;
  EXPECT_EQ(lines(a->ops), lines(b->ops)) << which;
}

struct case_ {
  std::string policy;
  unsigned pages, depth;
  bool precision = false;
  bool swap = true;
  mutant bug = mutant::none;
  bool files = false;  // ALL_OPS rather than ANON_OPS
};

class CompactEngine : public ::testing::TestWithParam<case_> {};

TEST_P(CompactEngine, SearchesExactlyWhatTheModelSearches) {
  const case_& c = GetParam();
  auto pol = make_policy(c.policy);
  explore_options m = bound(c.pages, c.depth, explore_engine::model, c.files ? ALL_OPS : ANON_OPS);
  m.soundness_is_finding = c.policy == "upstream-6.12";
  m.precision = c.precision;
  m.swap = c.swap;
  m.bug = c.bug;
  explore_options k = m;
  k.engine = explore_engine::compact;
  const explore_result a = explore(*pol, m), b = explore(*pol, k);
  EXPECT_EQ(a.states, b.states);
  EXPECT_EQ(a.transitions, b.transitions);
  EXPECT_EQ(a.self_loops, b.self_loops);
  EXPECT_EQ(a.states_at_depth, b.states_at_depth);
  EXPECT_EQ(a.depth_done, b.depth_done);
  EXPECT_EQ(a.complete, b.complete);
  EXPECT_EQ(a.finding_states, b.finding_states);
  expect_same_counterexample(a.violation, b.violation, "violation");
  expect_same_counterexample(a.false_negative, b.false_negative, "false negative");
  expect_same_counterexample(a.lost_new_mapping, b.lost_new_mapping, "lost new mapping");
  // Not vacuous: upstream-6.12 shows its bug; sticky's VMA-wide flag dirties clean pages (a
  // false positive stops the search); a mutant is found; otherwise the whole bound was searched.
  if (c.policy == "upstream-6.12" && c.depth >= 4) EXPECT_TRUE(b.lost_new_mapping);  // 4 operations
  const bool precise_here = c.policy == "precise" || c.policy.starts_with("granular");
  if ((c.precision && !precise_here) || (c.bug != mutant::none && c.policy != "upstream-6.12"))
    EXPECT_TRUE(b.violation);
  else
    EXPECT_TRUE(b.complete);
  if (c.bug == mutant::swap_loses_soft_dirty && c.policy == "upstream-6.12") EXPECT_TRUE(b.false_negative);
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, CompactEngine,
    // (Bounds of about 1,000-30,000 states each: the model engine's side dominates, and the
    // sanitizer build runs this too. sdmc explore --cross-check goes much further: see
    // docs/performance.md.)
    ::testing::Values(case_{"upstream-6.12", 3, 4}, case_{"sticky", 3, 4}, case_{"upstream-6.12", 4, 3},
                      case_{"sticky", 4, 3}, case_{"upstream-6.12", 2, 5}, case_{"sticky", 6, 2},
                      case_{"sticky", 3, 4, false, false}, case_{"sticky", 3, 5, true},
                      // precise re-merges at clear_refs and lets VM_SOFTDIRTY block merges after
                      // the first one; on this ground it is precise too (no false positive).
                      case_{"precise", 3, 4}, case_{"precise", 2, 5, true}, case_{"precise", 4, 3, false, false},
                      // uffd-wp: registered and write-protected at mmap, clear_refs a reset,
                      // bit 55 read as PAGE_IS_WRITTEN.
                      case_{"uffd-wp", 3, 4}, case_{"uffd-wp", 2, 5, false, false},
                      // granular: the non_sd_reg lists as two bitmaps; precise on this ground.
                      case_{"granular", 3, 4}, case_{"granular", 2, 5, true}, case_{"granular-coalesce", 3, 4},
                      case_{"granular-coalesce", 4, 3, true, false},
                      // The mutants of the catalogue on this ground, under the design that
                      // should hold (sticky) and under the baseline, whose findings do not stop
                      // the search (the invariant a mutant breaks does).
                      case_{"sticky", 3, 6, false, true, mutant::new_vma_not_soft_dirty},
                      case_{"sticky", 3, 6, false, true, mutant::pte_hole_ignores_vma},
                      case_{"sticky", 3, 6, false, true, mutant::can_change_pte_writable_inverted},
                      case_{"sticky", 3, 6, false, true, mutant::swap_loses_soft_dirty},
                      case_{"sticky", 3, 6, false, true, mutant::mremap_move_not_soft_dirty},
                      case_{"sticky", 3, 6, false, true, mutant::scan_zapped_pte_not_written},
                      case_{"sticky", 3, 6, false, true, mutant::gap_uses_next_vma_flag},
                      case_{"precise", 3, 5, true, true, mutant::gap_uses_next_vma_flag},
                      case_{"uffd-wp", 3, 6, false, true, mutant::scan_zapped_pte_not_written},
                      case_{"granular", 3, 6, true, true, mutant::granular_split_drops_node},
                      case_{"granular-coalesce", 3, 6, true, true, mutant::granular_split_drops_node},
                      case_{"upstream-6.12", 3, 4, false, true, mutant::new_vma_not_soft_dirty},
                      case_{"upstream-6.12", 3, 4, false, true, mutant::swap_loses_soft_dirty},
                      // Memory files: shared anonymous and memfd mappings, their page cache,
                      // fault-around, write-notify and shmem reclaim, under every design.
                      case_{"upstream-6.12", 3, 3, false, true, mutant::none, true},
                      case_{"sticky", 2, 4, false, true, mutant::none, true},
                      case_{"sticky", 3, 3, false, false, mutant::none, true},
                      case_{"precise", 2, 4, false, true, mutant::none, true},
                      case_{"precise", 3, 3, true, false, mutant::none, true},
                      case_{"uffd-wp", 2, 4, false, true, mutant::none, true},
                      case_{"uffd-wp", 3, 3, false, false, mutant::none, true},
                      case_{"granular", 2, 4, true, true, mutant::none, true},
                      case_{"granular-coalesce", 3, 3, false, false, mutant::none, true},
                      // A shared mapping whose clear_refs leaves vm_page_prot writable.
                      case_{"sticky", 2, 4, false, true, mutant::no_writenotify_after_clear, true},
                      case_{"granular", 2, 4, false, true, mutant::no_writenotify_after_clear, true}),
    [](const auto& info) {
      std::string n = info.param.policy + "_" + std::to_string(info.param.pages) + "p_d" +
                      std::to_string(info.param.depth) + (info.param.precision ? "_precision" : "") +
                      (info.param.swap ? "" : "_noswap") +
                      (info.param.bug == mutant::none ? "" : "_" + std::string(mutant_name(info.param.bug))) +
                      (info.param.files ? "_files" : "");
      for (char& ch : n)
        if (ch == '-' || ch == '.') ch = '_';
      return n;
    });

TEST(CompactEngineCrossCheck, RunsEveryTransitionInTheModelToo) {
  for (const char* name : {"upstream-6.12", "sticky", "precise", "uffd-wp", "granular", "granular-coalesce"}) {
    auto pol = make_policy(name);
    explore_options o = bound(2, 4, explore_engine::compact, ALL_OPS);
    o.soundness_is_finding = std::string_view(name) == "upstream-6.12";
    o.cross_check = true;
    explore_result r;
    ASSERT_NO_THROW(r = explore(*pol, o)) << name;
    explore_options m = o;
    m.engine = explore_engine::model;
    m.cross_check = false;
    EXPECT_EQ(r.states, explore(*pol, m).states) << name;
    EXPECT_TRUE(r.complete) << name;
  }
}

// Random walks far deeper than the searches above (20 operations), every step run by both
// engines from the same parent: the same child, and the same verdict on it. (A state the
// compact judgement wrongly finds failing is caught at run time, where the model judges it; one
// it wrongly finds sound is caught only by comparisons like this one and --cross-check.)
// `walks` random walks of o.depth operations from the empty state: every step must reach the
// state the model reaches from the same parent, and be judged as the model judges it. On the
// state the explorer would use: the narrow one when the alphabet maps no memory files.
template <class State>
void walk_beside_the_model(const policy& pol, const explore_options& o, int walks,
                           const std::vector<trace::Line>& alphabet) {
  const compact::rules rules(pol, o, alphabet);
  std::mt19937_64 rng(20261122);
  std::vector<char> buf;
  const std::string which = std::string(pol.name()) + " " + std::string(mutant_name(o.bug));
  for (int walk = 0; walk < walks; ++walk) {
    State s;
    for (unsigned step = 0; step < o.depth; ++step) {
      const std::size_t a = rng() % alphabet.size();
      State child = s;
      rules.apply(child, a);
      kernel k(pol, o.swap);
      oracle ko;
      rules.to_model(s, k, ko);
      k.obs = &ko;
      apply_op(k, alphabet[a]);
      kernel c(pol, o.swap);
      oracle co;
      rules.to_model(child, c, co);
      const std::string want(encode_state(k, ko, {addr_to_pfn(o.base), o.pages}, buf));
      ASSERT_EQ(encode_state(c, co, {addr_to_pfn(o.base), o.pages}, buf), want)
          << which << ", walk " << walk << ", step " << step << ": " << trace::format_line(alphabet[a])
          << "\n  parent: " << compact::describe(s) << "\n  child:  " << compact::describe(child);
      ASSERT_EQ(rules.judge(child), compact::failure_bits(state_failures(pol, o, k, ko)))
          << which << ", walk " << walk << ", step " << step << "\n  state: " << compact::describe(child);
      s = child;
    }
  }
}
void walk_beside_the_model(const policy& pol, const explore_options& o, int walks) {
  const std::vector<trace::Line> alphabet = make_alphabet(o);
  if (compact::rules::maps_files(alphabet))
    walk_beside_the_model<compact::state>(pol, o, walks, alphabet);
  else
    walk_beside_the_model<compact::anon_state>(pol, o, walks, alphabet);
}

// The 64-byte state of alphabets without memory files is the 128-byte one minus what only
// memory files set: on private anonymous memory both must go through the same states (the
// same description, the same verdict), and the explorer must pick it exactly when it can.
TEST(CompactEngineNarrowState, FollowsTheWideStateOnPrivateAnonymousMemory) {
  for (const char* name : {"upstream-6.12", "sticky", "precise", "uffd-wp", "granular", "granular-coalesce"}) {
    auto pol = make_policy(name);
    explore_options o = bound(4, 24, explore_engine::compact);
    o.precision = std::string_view(name) != "uffd-wp";
    const std::vector<trace::Line> alphabet = make_alphabet(o);
    ASSERT_FALSE(compact::rules::maps_files(alphabet));
    const compact::rules rules(*pol, o, alphabet);
    std::mt19937_64 rng(20261123);
    for (int walk = 0; walk < 2000; ++walk) {
      compact::state wide;
      compact::anon_state narrow;
      for (unsigned step = 0; step < o.depth; ++step) {
        const std::size_t a = rng() % alphabet.size();
        rules.apply(wide, a);
        rules.apply(narrow, a);
        ASSERT_EQ(compact::describe(narrow), compact::describe(wide))
            << name << ", walk " << walk << ", step " << step << ": " << trace::format_line(alphabet[a]);
        ASSERT_EQ(rules.judge(narrow), rules.judge(wide)) << name << ", walk " << walk << ", step " << step;
      }
    }
  }
}

TEST(CompactEngineNarrowState, IsChosenOnlyWithoutMemoryFiles) {
  auto pol = make_policy("sticky");
  const explore_result anon = explore(*pol, bound(2, 3, explore_engine::compact));
  EXPECT_EQ(anon.key_bytes_max, sizeof(compact::anon_state));
  const explore_result files = explore(*pol, bound(2, 3, explore_engine::compact, ALL_OPS));
  EXPECT_EQ(files.key_bytes_max, sizeof(compact::state));
  // A memory file on the narrow state is a logic error, never a silently dropped field.
  const explore_options o = bound(2, 1, explore_engine::compact, ALL_OPS);
  const std::vector<trace::Line> alphabet = make_alphabet(o);
  const compact::rules rules(*pol, o, alphabet);
  bool refused = false;
  for (std::size_t a = 0; a < alphabet.size(); ++a) {
    const auto* m = std::get_if<trace::Mmap>(&alphabet[a].op);
    if (!m || m->sharing != trace::Sharing::Shared) continue;
    compact::anon_state s;
    EXPECT_THROW(rules.apply(s, a), std::logic_error) << trace::format_line(alphabet[a]);
    refused = true;
  }
  EXPECT_TRUE(refused);
}

TEST(CompactEngineCrossCheck, RandomWalksDeeperThanTheSearch) {
  for (const char* name : {"upstream-6.12", "sticky", "precise", "uffd-wp", "granular", "granular-coalesce"}) {
    walk_beside_the_model(*make_policy(name), bound(2, 20, explore_engine::compact), 3000);
    // Memory files need room too: moved and grown file mappings, fault-around over several
    // pages, one memfd mapped twice.
    walk_beside_the_model(*make_policy(name), bound(5, 20, explore_engine::compact, ALL_OPS), 4000);
    // The largest window: eight one-page shared-anon files at once, indices up to bit 7.
    walk_beside_the_model(*make_policy(name), bound(compact::max_pages, 30, explore_engine::compact, ALL_OPS), 1000);
  }
  // granular's lists need room: nodes split, merged and moved across 5 pages.
  for (const char* name : {"granular", "granular-coalesce"})
    walk_beside_the_model(*make_policy(name), bound(5, 20, explore_engine::compact), 1000);
}

TEST(CompactEngineCrossCheck, RandomWalksUnderEveryMutantItCovers) {
  // A search stops at a mutant's first violation; walks judge the states beyond it.
  for (mutant m : compact::covered_mutants)
    for (const char* name : {"sticky", "precise", "uffd-wp", "granular"}) {
      explore_options o = bound(3, 12, explore_engine::compact, ALL_OPS);
      o.bug = m;
      o.precision = true;
      walk_beside_the_model(*make_policy(name), o, 600);
    }
}

// A design whose merge rule reads more of mm_struct than cleared_refs (here: once two VMAs
// exist, VM_SOFTDIRTY blocks merges; its declared capabilities are upstream-6.12's, so the
// engine does not refuse it). The compact engine asks the policy once per flag value on an
// empty mm_struct, so it keeps merging: the cross-check must stop at the first transition
// where that differs.
class reads_mm : public upstream_612 {
 public:
  std::string_view name() const override { return "reads-mm"; }
  bool flags_mergeable(const mm_struct& mm, vm_flags_t a, vm_flags_t b) const override {
    return mm.map_count() >= 2 ? a == b : upstream_612::flags_mergeable(mm, a, b);
  }
};

TEST(CompactEngineCrossCheck, CatchesADesignThatDecidesFromMoreThanTheFlags) {
  reads_mm pol;
  explore_options o = bound(3, 4, explore_engine::compact);
  o.soundness_is_finding = true;
  o.cross_check = true;
  try {
    explore(pol, o);
    FAIL() << "the cross-check let a different transition through";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("the model does not reach"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("parent: pte"), std::string::npos) << e.what();  // both states shown
  }
}

TEST(CompactEngine, RefusesWhatItDoesNotCoverByName) {
  auto refused = [](const std::string& policy, explore_options o) -> std::string {
    o.engine = explore_engine::compact;
    auto pol = make_policy(policy);
    try {
      explore(*pol, o);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  const explore_options base = bound(3, 1, explore_engine::compact);
  // A design whose merges reset vm_page_prot but that keeps no non_sd_reg lists.
  struct prot_on_merge : sticky {
    std::string_view name() const override { return "prot-on-merge"; }
    bool merge_sets_page_prot() const override { return true; }
  } odd;
  {
    explore_options o = base;
    o.engine = explore_engine::compact;
    std::string why;
    try {
      explore(odd, o);
    } catch (const std::invalid_argument& e) {
      why = e.what();
    }
    EXPECT_NE(why.find("the design prot-on-merge"), std::string::npos) << why;
  }
  explore_options o = base;
  o.pages = compact::max_pages + 1;
  EXPECT_NE(refused("sticky", o).find("a window of 9 pages"), std::string::npos);
  o = base;
  o.bug = mutant::droppable_dirty_skip_and;
  EXPECT_NE(refused("sticky", o).find("the mutant droppable-dirty-skip-and"), std::string::npos);
  o = base;
  o.ops = "mmap_anon,mmap_droppable";
  EXPECT_NE(refused("sticky", o).find("droppable"), std::string::npos) << refused("sticky", o);
  o = base;
  o.extra_check = [](const kernel&, const oracle&) { return std::optional<std::string>(); };
  EXPECT_NE(refused("sticky", o).find("an extra state check"), std::string::npos);
  // A context with EVENT_REMAP is the uffd-wp design's alone (the explorer never asks for one).
  std::vector<trace::Line> alphabet = make_alphabet(base);
  trace::UffdWp remap{base.base, 4096, true};
  alphabet.push_back(trace::Line{0, remap, {}});
  const auto why = compact::rules::unsupported(*make_policy("sticky"), base, alphabet);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("remap"), std::string::npos) << *why;
  // Memory files it holds: one memfd, read-write, its indices inside the window's size.
  auto with = [&](trace::Mmap m) {
    std::vector<trace::Line> a = make_alphabet(base);
    m.addr = base.base, m.len = 4096, m.fixed = true, m.prot = trace::PROT_R;
    m.sharing = trace::Sharing::Shared;
    a.push_back(trace::Line{0, m, {}});
    return compact::rules::unsupported(*make_policy("sticky"), base, a).value_or("");
  };
  trace::Mmap ro;
  ro.file = trace::FileRef{"m", 0, true};
  EXPECT_NE(with(ro).find("file=m@0 ro fixed`"), std::string::npos) << with(ro);
  trace::Mmap far;
  far.file = trace::FileRef{"m", 8 * 4096, false};
  EXPECT_NE(with(far).find("file=m@8p fixed`"), std::string::npos) << with(far);
  o = base;
  o.ops = "mmap_memfd";
  std::vector<trace::Line> two = make_alphabet(o);
  trace::Mmap other;
  other.addr = base.base, other.len = 4096, other.fixed = true, other.prot = trace::PROT_R;
  other.sharing = trace::Sharing::Shared;
  other.file = trace::FileRef{"n", 0, false};
  two.push_back(trace::Line{0, other, {}});
  const auto second = compact::rules::unsupported(*make_policy("sticky"), o, two);
  ASSERT_TRUE(second);
  EXPECT_NE(second->find("a second memfd"), std::string::npos) << *second;
  // And what it covers runs.
  for (const char* design : {"upstream-6.12", "sticky", "precise", "uffd-wp"}) EXPECT_EQ(refused(design, base), "");
  o = base;
  o.ops = "";  // the default alphabet: shared and memfd mappings included
  EXPECT_EQ(refused("sticky", o), "");
}

TEST(CompactEngine, CrossCheckNeedsTheCompactEngine) {
  auto pol = make_policy("sticky");
  explore_options o = bound(2, 1, explore_engine::model);
  o.cross_check = true;
  EXPECT_THROW(explore(*pol, o), std::invalid_argument);
}

}  // namespace
}  // namespace sdmc
