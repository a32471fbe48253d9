// Precision: no false positive beyond what the kernel's own rules mandate
// (props/properties.hpp: excused_false_positive names each exception and its kernel function),
// for the designs that promise it (policy::promises_precision, which `sdmc check` asks too):
// granular (and its coalescing variant) and uffd-wp, as issue 3 names them.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "props/campaign.hpp"
#include "props/policy_list.hpp"
#include "props/properties.hpp"
#include "props/trace_gen.hpp"
#include "sim/replay.hpp"

namespace sdmc::props {
namespace {

property_options precision_only() {
  property_options o;
  o.soundness = false;
  o.precision = true;
  return o;
}

trace_gen_options precision_traces() {
  trace_gen_options g;
  g.weights.uffd_wp = 0;  // the trace's own userfaultfd use is not soft-dirty's business
  return g;
}

class precision : public ::testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(precision);

TEST_P(precision, no_false_positive_beyond_the_kernel_rules) {
  auto pol = make_policy(GetParam());
  const rc::Gen<trace::Trace> gen = gen_trace(precision_traces());
  rc::detail::checkGTest([&] {
    const trace::Trace t = *gen;
    if (auto f = check_trace(*pol, t, precision_only())) RC_FAIL(f->what);
  });
}

INSTANTIATE_TEST_SUITE_P(
    policies, precision,
    ::testing::ValuesIn(policies_promising_precision()),
    [](const auto& i) { return param_name(i.param); });

TEST(precision_promise, is_made_by_the_designs_issue_3_names) {
  EXPECT_EQ(policies_promising_precision(),
            (std::vector<std::string>{"granular", "granular-coalesce", "uffd-wp"}));
}

// The property can fail: upstream-6.12 re-dirties a clean VMA an mmap merges with
// (semantics 2.5, sequence D), which no exception excuses.
TEST(precision, fails_for_upstream_on_an_mmap_merge) {
  auto pol = make_policy(baseline_policy);
  const campaign_result res = run_campaign(
      [&](const trace::Trace& t) { return check_trace(*pol, t, precision_only()); },
      with_rc_params({.gen = precision_traces()}));
  ASSERT_TRUE(res.found);
  std::cout << trace::write(res.counterexample) << res.message << "\n";
  EXPECT_LE(operation_count(res.counterexample), 6u);
  EXPECT_NE(res.message.find("false positive"), std::string::npos);
}

// An exception is an exception: populating a locked range with write faults makes soft-dirty
// pages nobody stored to, and that is not the design's doing.
TEST(precision, excuses_the_write_faults_of_mlock_populate) {
  const trace::Trace t = trace::parse(
      "sdtrace 1\nmmap 0x100000000 1p rw- private\nclear_refs\nmlock 0x100000000 1p\n", "t.sdt");
  auto pol = make_policy("precise");
  EXPECT_FALSE(check_trace(*pol, t, precision_only()));
  // ... while the page does read soft-dirty without a store (the exception was needed).
  replay_options ro;
  replayer r(t, *pol, ro);
  for (const auto& l : t.lines) r.step(l);
  r.finish();
  EXPECT_EQ(r.ghost.sd.false_positives, 1u);
}

}  // namespace
}  // namespace sdmc::props
