// One test per mutant of the catalogue (model/mutant.hpp, label `mutant`): within a fixed
// budget (seed and number of cases, props/mutant_table.hpp) the property campaign finds it;
// the shrunk counterexample has at most 6 operations; written as an sdtrace file, ending with
// an `expect sd` of what the unmutated model reports, `sdmc replay --mutant NAME --policy P`
// reproduces it (the oracle counts a false negative, a lost new mapping, a false positive at
// an unmapped address or a PAGE_IS_WRITTEN false negative, or the expectation differs) while
// the unmutated model replays it clean. The time to the counterexample is printed
// (docs/performance.md).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "props/mutant_table.hpp"
#include "sim/replay.hpp"

namespace sdmc::props {
namespace {

// `sdmc replay --json` of one file, with or without the mutant.
nlohmann::json replay_json(const std::string& file, std::string_view policy, mutant m) {
  std::string cmd = std::string("'") + SDMC_BINARY_DIR + "/sdmc' replay --json --policy " +
                    std::string(policy) + " '" + file + "'";
  if (m != mutant::none) cmd += " --mutant " + std::string(mutant_name(m));
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  return nlohmann::json::parse(out, nullptr, false);
}

// `expect sd` over the trace's window, as the model without the mutant reports it after t.
trace::Expect expect_sd_now(const policy& pol, const trace::Trace& t, const trace_gen_options& g) {
  replay_options ro;
  ro.expectations_are_failures = ro.results_are_failures = false;
  replayer r(t, pol, ro);
  for (const trace::Line& l : t.lines) r.step(l);
  const pfn_t first = addr_to_pfn(g.base);
  const pset sd = r.k.soft_dirty_pages(first, first + g.pages);
  trace::Expect e;
  e.field = trace::Field::Sd;
  e.addr = g.base;
  e.len = g.pages * 4096;
  e.form = trace::Expect::Form::Bits;
  for (pfn_t p = first; p < first + g.pages; ++p) e.bits += boost::icl::contains(sd, p) ? '1' : '0';
  return e;
}

class mutant_found : public ::testing::TestWithParam<mutant_case> {};

TEST_P(mutant_found, shrunk_to_a_short_trace_that_sdmc_replay_reproduces) {
  const mutant_case& c = GetParam();
  const std::string name(mutant_name(c.m));
  auto pol = make_policy(c.policy);
  ASSERT_TRUE(pol) << c.policy;
  campaign_options opt;
  opt.seed = mutant_seed;
  opt.cases = mutant_cases;
  const campaign_result res = run_mutant_campaign(c, *pol, opt);
  ASSERT_TRUE(res.found) << name << ": not found in " << opt.cases << " cases (seed " << opt.seed << ")";
  std::cout << fmt::format("{}: found after {} passing cases in {:.3f} s (seed {}, {} cases at most)\n",
                           name, res.cases_passed, res.seconds, opt.seed, opt.cases);

  // Keep the lines up to the first violation: replay judges at the end of the trace.
  trace::Trace t = res.counterexample;
  const auto f = check_trace(*pol, t, mutant_property(c.m));
  ASSERT_TRUE(f) << "the shrunk counterexample does not fail again:\n" << trace::write(t);
  t.lines.resize(f->line + 1);
  EXPECT_LE(operation_count(t), 6u) << trace::write(t);
  // What the model reports at the end without the mutant, as an `expect`: a replay under the
  // mutant shows where it differs (a difference under a design, a failure under upstream-6.12).
  t.lines.push_back(trace::Line{0, expect_sd_now(*pol, t, c.gen), {}});
  const std::string text = trace::write(t);
  std::cout << text << f->what << "\n";

  const std::string dir = std::string(SDMC_BINARY_DIR) + "/props-out";
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/mutant-" + name + ".sdt";
  std::ofstream(file) << "# " << name << ": shrunk counterexample of the property campaign under "
                      << c.policy << "\n# " << f->what << "\n" << text;

  const nlohmann::json bad = replay_json(file, c.policy, c.m);
  const nlohmann::json good = replay_json(file, c.policy, mutant::none);
  ASSERT_TRUE(bad.is_object() && good.is_object()) << "sdmc replay --json gave no JSON for " << file;
  std::cout << "sdmc replay --mutant " << name << ": " << bad["false_negatives"] << " false negatives, "
            << bad["lost_new_mappings"] << " lost new mappings, " << bad["false_positives"]
            << " false positives, " << bad["written"]["false_negatives"]
            << " PAGE_IS_WRITTEN false negatives; unmutated: " << good["false_negatives"] << ", "
            << good["lost_new_mappings"] << ", " << good["false_positives"] << ", "
            << good["written"]["false_negatives"] << "\n";
  // Unmutated: clean (no failure, no difference, nothing unsound).
  EXPECT_EQ(good["verdict"], "PASS") << file;
  EXPECT_TRUE(good["differences"].empty()) << good["differences"].dump() << "\n" << file;
  EXPECT_EQ(good["false_negatives"], 0) << file;
  EXPECT_EQ(good["lost_new_mappings"], 0) << file;
  EXPECT_EQ(good["written"]["false_negatives"], 0) << file;
  // Mutated: the oracle counts more wrong pages (bit 55's, or PAGE_IS_WRITTEN's), or the
  // expectation does not hold.
  auto n = [](const nlohmann::json& j, const char* k) { return j[k].get<std::uint64_t>(); };
  const bool counts = n(bad, "false_negatives") + n(bad, "lost_new_mappings") > 0 ||
                      n(bad, "false_positives") > n(good, "false_positives") ||
                      n(bad["written"], "false_negatives") > 0;
  const bool expect = !bad["differences"].empty() || !bad["failures"].empty();
  EXPECT_TRUE(counts || expect) << "sdmc replay --mutant " << name << " does not reproduce " << file;
}

INSTANTIATE_TEST_SUITE_P(catalogue, mutant_found, ::testing::ValuesIn(mutant_cases_table()),
                         [](const auto& i) {
                           std::string s(mutant_name(i.param.m));
                           for (char& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

// `sdmc replay --mutant` refuses a name outside the catalogue with exit status 2 and lists it.
TEST(mutant_option, unknown_name_is_bad_input) {
  const std::string cmd = std::string("'") + SDMC_BINARY_DIR + "/sdmc' replay --mutant no-such-bug '" +
                          SDMC_SOURCE_DIR + "/traces/examples/brk.sdt' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_TRUE(p);
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(out.find("unknown mutant 'no-such-bug'"), std::string::npos) << out;
  for (const mutant_info& i : mutant_catalogue) EXPECT_NE(out.find(i.name), std::string::npos) << out;
}

}  // namespace
}  // namespace sdmc::props
