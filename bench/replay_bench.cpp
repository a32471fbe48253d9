// Replay throughput and memory of the model (issue "Model core", Tests and benchmarks).
//
//   build/sdmc_bench --benchmark_filter='Replay|ManyVmas'
//
// BM_ReplayMix: a generated 1,000,000-operation mix in a 256-page window (25% fixed mmap,
// 15% munmap, 10% mprotect, 45% write, 5% clear_refs, 1-7 pages each), replayed with the
// oracle judging at every clear_refs. Goal: >= 3 M operations/s on one core.
// BM_ManyVmas: 65,530 VMAs spread over the whole 47-bit user address space, each written
// once, then clear_refs and a full oracle judgement. Goal: peak heap < 100 MB.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include "model/policy.hpp"
#include "sim/generator.hpp"
#include "sim/replay.hpp"

namespace {

using namespace sdmc;

const trace::Trace& mix_trace() {
  static const trace::Trace t = [] {
    generator_options o;
    o.seed = 1;
    o.ops = 1'000'000;
    return generate_trace(o);
  }();
  return t;
}

// state.range(0): 1 with the ghost oracle judging at every observation point, 0 the model alone.
void BM_ReplayMix(benchmark::State& state) {
  const trace::Trace& t = mix_trace();
  auto pol = make_policy("upstream-6.12");
  replay_options opt;
  opt.oracle = state.range(0);
  for (auto _ : state) {
    replayer r(t, *pol, opt);
    for (const trace::Line& l : t.lines) r.step(l);
    r.finish();
    benchmark::DoNotOptimize(r.ghost.sd.false_positives);
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(t.lines.size()));
  state.counters["ops_per_s"] =
      benchmark::Counter(double(t.lines.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReplayMix)->ArgName("oracle")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0);

std::size_t heap_in_use() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

void BM_ManyVmas(benchmark::State& state) {
  const std::uint64_t n = std::uint64_t(state.range(0));
  auto pol = make_policy("upstream-6.12");
  trace::Trace t;
  // Evenly spaced over [4 GiB, TASK_SIZE): far apart, so nothing merges.
  const std::uint64_t lo = 1ull << 32, step = ((TASK_SIZE - lo) / n) & ~0xfffull;
  for (std::uint64_t i = 0; i < n; ++i) {
    trace::Mmap m;
    m.addr = lo + i * step;
    m.len = 2 * 4096;
    m.prot = trace::PROT_R | trace::PROT_W;
    m.fixed = true;
    t.lines.push_back({0, m, {}});
    t.lines.push_back({0, trace::Write{m.addr, 4096}, {}});
  }
  t.lines.push_back({0, trace::ClearRefs{}, {}});
  double peak_mb = 0, vmas = 0;
  for (auto _ : state) {
    std::size_t before = heap_in_use();
    replayer r(t, *pol);
    for (const trace::Line& l : t.lines) r.step(l);
    r.finish();
    peak_mb = double(heap_in_use() - before) / (1 << 20);
    vmas = double(r.k.mm.map_count());
  }
  state.counters["heap_MB"] = peak_mb;  // the model's heap with every VMA alive
  state.counters["vmas"] = vmas;
  state.counters["bytes_per_vma"] = peak_mb * (1 << 20) / vmas;
}
BENCHMARK(BM_ManyVmas)->Arg(65530)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
