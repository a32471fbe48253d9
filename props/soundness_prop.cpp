// Soundness and the structural invariants over random traces, per policy.
//
//  - every policy but upstream-6.12: after every operation, no false negative (a page stored
//    to since the last clear_refs, holding data, reads clean) and, where the policy carries a
//    per-mapping signal, no lost new mapping (the oracle's counts, sim/oracle.hpp);
//  - upstream-6.12: the same property fails, and RapidCheck shrinks it to a short merge that
//    loses VM_SOFTDIRTY (semantics 2.5);
//  - every policy: check_invariants after every operation.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <fmt/format.h>

#include "props/campaign.hpp"
#include "sim/invariants.hpp"
#include "props/policy_list.hpp"
#include "props/properties.hpp"
#include "props/trace_gen.hpp"
#include "sim/replay.hpp"

namespace sdmc::props {
namespace {

auto policy_param_name = [](const ::testing::TestParamInfo<std::string>& i) {
  return param_name(i.param);
};

class soundness : public ::testing::TestWithParam<std::string> {};

TEST_P(soundness, no_false_negative_and_no_lost_new_mapping_after_any_operation) {
  auto pol = make_policy(GetParam());
  ASSERT_TRUE(pol);
  const rc::Gen<trace::Trace> gen = gen_trace({});
  rc::detail::checkGTest([&] {
    const trace::Trace t = *gen;
    if (auto f = check_trace(*pol, t, property_options{})) RC_FAIL(f->what);
  });
}

INSTANTIATE_TEST_SUITE_P(policies, soundness, ::testing::ValuesIn(policies_but_baseline()),
                         policy_param_name);

class invariants : public ::testing::TestWithParam<std::string> {};

TEST_P(invariants, hold_after_every_operation) {
  auto pol = make_policy(GetParam());
  ASSERT_TRUE(pol);
  const rc::Gen<trace::Trace> gen = gen_trace({});
  property_options o;
  o.soundness = false;
  o.invariants = true;
  rc::detail::checkGTest([&] {
    const trace::Trace t = *gen;
    if (auto f = check_trace(*pol, t, o)) RC_FAIL(f->what);
  });
}

INSTANTIATE_TEST_SUITE_P(policies, invariants, ::testing::ValuesIn(policy_names()),
                         policy_param_name);

// Every design but the baseline promises the write-tracking rule; a new policy deriving from
// upstream_612 must say so (upstream_612 answers false).
TEST(invariants, every_design_but_the_baseline_keeps_writes_tracked) {
  for (const std::string& name : policy_names())
    EXPECT_EQ(make_policy(name)->keeps_writes_tracked(), name != baseline_policy) << name;
}

// --- upstream-6.12 fails soundness, with a short merge counterexample -------------------------

bool is_merge_path_op(const trace::Op& op) {
  // The vma_modify / copy_vma callers that keep the target's (or the modified VMA's) flags
  // instead of setting VM_SOFTDIRTY (semantics 2.3).
  return std::holds_alternative<trace::Mprotect>(op) || std::holds_alternative<trace::Mremap>(op) ||
         std::holds_alternative<trace::Madvise>(op) || std::holds_alternative<trace::Mlock>(op) ||
         std::holds_alternative<trace::Munlock>(op) || std::holds_alternative<trace::UffdWp>(op);
}

struct merge_evidence {
  bool merged = false;     // the operation reduced the number of VMAs
  bool lost_flag = false;  // a merge result lacks the VM_SOFTDIRTY of a VMA it absorbed
  std::string layout_before, layout_after;
};

std::string layout(const kernel& k) {
  std::string s;
  for (const vma_ref& v : k.mm.all_vmas())
    s += fmt::format("[{:#x},{:#x}){} ", pfn_to_addr(v.vm_start), pfn_to_addr(v.vm_end),
                     v.v.vm_flags & VM_SOFTDIRTY ? " sd" : "");
  return s;
}

// Replays t up to and including line `at` and compares the VMAs around that line.
merge_evidence evidence_at(const policy& pol, const trace::Trace& t, std::size_t at) {
  replay_options ro;
  ro.expectations_are_failures = ro.results_are_failures = false;
  replayer r(t, pol, ro);
  for (std::size_t i = 0; i < at; ++i) r.step(t.lines[i]);
  const std::vector<vma_ref> before = r.k.mm.all_vmas();
  merge_evidence e;
  e.layout_before = layout(r.k);
  r.step(t.lines[at]);
  const std::vector<vma_ref> after = r.k.mm.all_vmas();
  e.layout_after = layout(r.k);
  e.merged = after.size() < before.size();
  auto id_alive = [&](std::uint32_t id) {
    return std::any_of(after.begin(), after.end(), [&](const vma_ref& x) { return x.v.vma_id == id; });
  };
  for (const vma_ref& a : after) {
    if (a.v.vm_flags & VM_SOFTDIRTY) continue;
    // A merge result: a vm_area_struct that now spans more than it did.
    const bool grew = std::none_of(before.begin(), before.end(), [&](const vma_ref& b) {
      return b.v.vma_id == a.v.vma_id && b.vm_start <= a.vm_start && a.vm_end <= b.vm_end;
    });
    if (!grew) continue;
    for (const vma_ref& b : before) {
      if (!(b.v.vm_flags & VM_SOFTDIRTY)) continue;
      // b's pages are now in the clean result (mprotect/madvise/mlock: the target's or the
      // neighbour's flag replaced), or b was absorbed whole (mremap's copy_vma merge).
      const bool overlaps = b.vm_start < a.vm_end && a.vm_start < b.vm_end;
      if (overlaps || !id_alive(b.v.vma_id)) e.lost_flag = true;
    }
  }
  return e;
}

TEST(upstream_612, soundness_fails_with_a_short_merge_losing_vm_softdirty) {
  auto pol = make_policy(baseline_policy);
  campaign_options co = with_rc_params(campaign_options{});
  const campaign_result res = run_campaign(
      [&](const trace::Trace& t) { return check_trace(*pol, t, property_options{}); }, co);
  ASSERT_TRUE(res.found) << "no counterexample in " << co.cases << " cases (seed " << co.seed << ")";
  const trace::Trace& t = res.counterexample;
  const std::string text = trace::write(t);
  std::cout << "upstream-6.12 counterexample after " << res.cases_passed << " passing cases, "
            << res.seconds << " s:\n" << text << res.message << "\n";
  EXPECT_LE(operation_count(t), 6u) << text;
  const auto f = check_trace(*pol, t, property_options{});
  ASSERT_TRUE(f) << "the shrunk counterexample does not fail again:\n" << text;
  EXPECT_TRUE(is_merge_path_op(t.lines[f->line].op))
      << "first wrong after `" << trace::format_line(t.lines[f->line]) << "`, not a merge path\n"
      << text;
  const merge_evidence e = evidence_at(*pol, t, f->line);
  EXPECT_TRUE(e.merged && e.lost_flag)
      << "no merge into a clean VMA at `" << trace::format_line(t.lines[f->line])
      << "`\n  before: " << e.layout_before << "\n  after:  " << e.layout_after << "\n" << text;
}

}  // namespace
}  // namespace sdmc::props
