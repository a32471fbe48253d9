// Replay throughput and memory of the model (issue "Model core", Tests and benchmarks).
//
//   build/sdmc_bench --benchmark_filter='Replay|ManyVmas'
//
// BM_ReplayMix: a generated 1,000,000-operation mix in a 256-page window (25% fixed mmap,
// 15% munmap, 10% mprotect, 45% write, 5% clear_refs, 1-7 pages each), replayed with the
// oracle judging at every clear_refs. Goal: >= 3 M operations/s on one core.
// BM_ParseMix: the mix written as sdtrace text and parsed back (`sdmc replay` parses first).
// BM_ManyVmas: 65,530 VMAs spread over the whole 47-bit user address space, each written
// once, then clear_refs and a full oracle judgement. Goal: peak memory < 100 MB.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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

// The same mix as sdtrace text, parsed: the other half of `sdmc replay`'s time.
void BM_ParseMix(benchmark::State& state) {
  const std::string text = trace::write(mix_trace());
  for (auto _ : state) {
    trace::Trace t = trace::parse(text, "mix.sdt");
    benchmark::DoNotOptimize(t.lines.data());
  }
  state.counters["lines_per_s"] =
      benchmark::Counter(double(mix_trace().lines.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ParseMix)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The same text through trace::reader in batches of 4,096 lines, as `sdmc replay` reads it: no
// vector of a million lines to allocate and fault in.
void BM_ReadMix(benchmark::State& state) {
  const std::string text = trace::write(mix_trace());
  std::vector<trace::Line> batch;
  for (auto _ : state) {
    trace::reader r(text, "mix.sdt");
    while (r.read(batch, 4096)) benchmark::DoNotOptimize(batch.data());
  }
  state.counters["lines_per_s"] =
      benchmark::Counter(double(mix_trace().lines.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReadMix)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The resident memory the process gained, in bytes: VmHWM (peak) minus VmRSS at the start, read
// from /proc/self/status. Measured in a forked child so that nothing allocated by earlier
// benchmarks (or recycled by the node pools) hides the model's own footprint.
std::uint64_t status_kb(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  std::uint64_t kb = 0;
  while (f && std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, std::strlen(key)) == 0) kb = std::strtoull(line + std::strlen(key), nullptr, 10);
  if (f) std::fclose(f);
  return kb;
}

void BM_ManyVmas(benchmark::State& state) {
  const std::uint64_t n = std::uint64_t(state.range(0));
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
    int fds[2];
    if (pipe(fds)) state.SkipWithError("pipe");
    pid_t pid = fork();
    if (pid == 0) {
      const std::uint64_t base = status_kb("VmRSS:");
      auto pol = make_policy("upstream-6.12");
      replayer r(t, *pol);
      for (const trace::Line& l : t.lines) r.step(l);
      r.finish();
      std::uint64_t out[2] = {status_kb("VmHWM:") - base, r.k.mm.map_count()};
      if (write(fds[1], out, sizeof out) != sizeof out) _exit(1);
      _exit(0);
    }
    std::uint64_t in[2] = {0, 0};
    if (read(fds[0], in, sizeof in) != sizeof in) state.SkipWithError("child failed");
    waitpid(pid, nullptr, 0);
    close(fds[0]);
    close(fds[1]);
    peak_mb = double(in[0]) / 1024;
    vmas = double(in[1]);
  }
  state.counters["peak_MB"] = peak_mb;  // the model's peak resident growth, VMAs included
  state.counters["vmas"] = vmas;
  state.counters["bytes_per_vma"] = peak_mb * (1 << 20) / vmas;
}
BENCHMARK(BM_ManyVmas)->Arg(65530)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
