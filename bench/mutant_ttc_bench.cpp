// Time to counterexample per mutant of the catalogue (issue "Every proposed design", the mutant
// catalogue): the property campaign of props/mutant_table.hpp with its fixed seed and budget,
// run until RapidCheck finds the mutant and shrinks the counterexample.
//
//   build/sdmc_mutant_bench --benchmark_repetitions=5
//
// Reported per mutant: the wall time of one campaign (generation, checking with and without the
// mutant, shrinking), and as counters the cases that passed before the failure, the shrinking
// steps accepted and the operations left in the counterexample.
#include <benchmark/benchmark.h>

#include "props/mutant_table.hpp"

namespace {

using namespace sdmc;
using namespace sdmc::props;

void BM_MutantTimeToCounterexample(benchmark::State& state) {
  const mutant_case c = mutant_cases_table()[state.range(0)];
  state.SetLabel(std::string(mutant_name(c.m)) + " under " + std::string(c.policy));
  auto pol = make_policy(c.policy);
  campaign_options opt;
  opt.seed = mutant_seed;
  opt.cases = mutant_cases;
  campaign_result r;
  for (auto _ : state) {
    r = run_mutant_campaign(c, *pol, opt);
    if (!r.found) state.SkipWithError("not found within the budget");
  }
  state.counters["cases"] = r.cases_passed + 1;
  state.counters["shrinks"] = r.shrinks;
  state.counters["ops"] = double(operation_count(r.counterexample));
}
BENCHMARK(BM_MutantTimeToCounterexample)
    ->DenseRange(0, int(mutant_cases_table().size()) - 1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
