// Throughput of the bounded model checker (issue 3, "The model checker"): distinct states and
// transitions per second on one core, and what one transition costs, part by part.
//
//   build/sdmc_explore_bench
//
// BM_Explore: `sdmc explore --policy upstream-6.12` over the default alphabet, pages x depth as
// given, explored completely (under the baseline a false negative is a finding and the search
// goes on), on the model engine (compact 0) and the compact engine (compact 1) side by side.
// Goal of the issue: 1 M distinct states/s on one core.
// BM_ExploreAnon: the same on private anonymous memory alone.
// BM_Transition_*: one transition's parts on a typical mid-search state: copying the parent
// kernel and oracle, applying an operation, encoding the child, fingerprinting the key.
#include <benchmark/benchmark.h>

#include "model/policy.hpp"
#include "sim/compact/rules.hpp"
#include "sim/explorer.hpp"
#include "sim/state_codec.hpp"

namespace {

using namespace sdmc;

// Runs the search, reporting its size and distinct states and transitions per second.
void explore_counted(benchmark::State& state, const policy& pol, const explore_options& o) {
  explore_result r;
  for (auto _ : state) {
    r = explore(pol, o);
    benchmark::DoNotOptimize(r.states);
  }
  state.counters["states"] = double(r.states);
  state.counters["transitions"] = double(r.transitions);
  state.counters["states_per_s"] =
      benchmark::Counter(double(r.states), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["transitions_per_s"] =
      benchmark::Counter(double(r.transitions), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Explore(benchmark::State& state) {
  auto pol = make_policy("upstream-6.12");
  explore_options o;
  o.engine = state.range(0) ? explore_engine::compact : explore_engine::model;
  o.pages = unsigned(state.range(1));
  o.depth = unsigned(state.range(2));
  o.soundness_is_finding = true;  // explore the whole bound: findings do not stop the search
  explore_counted(state, *pol, o);
}
BENCHMARK(BM_Explore)
    ->ArgNames({"compact", "pages", "depth"})
    ->ArgsProduct({{0, 1}, {2}, {6}})
    ->ArgsProduct({{0, 1}, {3}, {4}})
    ->ArgsProduct({{0, 1}, {4}, {3}})
    ->Args({1, 3, 5})  // sdmc explore's default bound, 3.9 M states
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

// The two engines side by side on private anonymous memory (sim/compact/rules.hpp) under
// sticky, explored completely: compact 0 the model's engine (keys decoded into a kernel), 1
// the compact one.
void BM_ExploreAnon(benchmark::State& state) {
  auto pol = make_policy("sticky");
  explore_options o;
  o.engine = state.range(0) ? explore_engine::compact : explore_engine::model;
  o.pages = unsigned(state.range(1));
  o.depth = unsigned(state.range(2));
  o.ops = std::string(compact_anon_ops);
  explore_counted(state, *pol, o);
}
BENCHMARK(BM_ExploreAnon)
    ->ArgNames({"compact", "pages", "depth"})
    ->ArgsProduct({{0, 1}, {3}, {5}})
    ->ArgsProduct({{0, 1}, {4}, {4}})
    ->Args({1, 4, 5})  // 2.2 M states: about 12 s per run for the model's engine
    ->Args({1, 6, 4})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

// One compact transition (copy the parent, apply, rename) per operation of the 6-page
// alphabet, on a mid-search state: VMAs rw-, r-- and rw- again, pages written before and after
// a clear_refs. Reports the mean over the operations of each kind.
void BM_CompactApplyEach(benchmark::State& state) {
  auto pol = make_policy("sticky");
  explore_options o;
  o.pages = 6;
  o.ops = "mmap_anon,munmap,mprotect,write,read,clear_refs";
  const std::vector<trace::Line> alphabet = make_alphabet(o);
  compact::rules rules(*pol, o, alphabet);
  compact::state parent;
  auto run = [&](const trace::Line& l) {
    for (std::size_t i = 0; i < alphabet.size(); ++i)
      if (trace::format_line(alphabet[i]) == trace::format_line(l)) rules.apply(parent, i);
  };
  auto anon = [&](unsigned page, unsigned pages, std::uint8_t prot) {
    trace::Mmap m;
    m.addr = o.base + page * 0x1000ull;
    m.len = pages * 0x1000ull;
    m.prot = prot;
    m.fixed = true;
    trace::Line l;
    l.op = m;
    return l;
  };
  auto line = [](trace::Op op) {
    trace::Line l;
    l.op = std::move(op);
    return l;
  };
  run(anon(0, 2, trace::PROT_R | trace::PROT_W));
  run(line(trace::Write{o.base, 0x2000}));
  run(line(trace::ClearRefs{}));
  run(anon(2, 2, trace::PROT_R));
  run(anon(4, 2, trace::PROT_R | trace::PROT_W));
  run(line(trace::Write{o.base + 0x4000, 0x1000}));
  const std::string kind = std::string(trace::op_name(alphabet[std::size_t(state.range(0))].op));
  std::vector<std::size_t> ops;
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    if (trace::op_name(alphabet[i].op) == kind) ops.push_back(i);
  compact::state child;
  for (auto _ : state)
    for (std::size_t i : ops) {
      child = parent;
      rules.apply(child, i);
      benchmark::DoNotOptimize(child);
    }
  state.SetLabel(kind);
  state.SetItemsProcessed(std::int64_t(state.iterations() * ops.size()));
}
// One operation of each kind in the 6-page alphabet's order: mmap, munmap, mprotect, write,
// read, clear_refs.
BENCHMARK(BM_CompactApplyEach)->Arg(0)->Arg(42)->Arg(63)->Arg(105)->Arg(126)->Arg(147);

// A state in the middle of a search: three VMAs of three kinds, PTEs, a clear_refs behind.
struct fixture {
  std::unique_ptr<policy> pol = make_policy("upstream-6.12");
  kernel k{*pol, true};
  oracle o;
  state_window w{addr_to_pfn(0x100000000), 4};
  fixture() {
    k.obs = &o;
    trace::Mmap anon{0x100000000, 0x1000, trace::PROT_R | trace::PROT_W};
    anon.fixed = true;
    k.sys_mmap(anon);
    trace::Mmap memfd{0x100001000, 0x2000, trace::PROT_R | trace::PROT_W, trace::Sharing::Shared,
                      trace::FileRef{"m", 0x1000, false}};
    memfd.fixed = true;
    k.sys_mmap(memfd);
    k.access(0x100000000, 0x3000, true);
    k.clear_refs();
    k.access(0x100001000, 0x1000, true);
    trace::Mmap shared{0x100003000, 0x1000, trace::PROT_R, trace::Sharing::Shared};
    shared.fixed = true;
    k.sys_mmap(shared);
  }
};

void BM_Transition_Copy(benchmark::State& state) {
  fixture f;
  for (auto _ : state) {
    kernel k(f.k);
    oracle o(f.o);
    benchmark::DoNotOptimize(k.mm.map_count());
  }
}
BENCHMARK(BM_Transition_Copy);

void BM_Transition_CopyApply(benchmark::State& state) {
  fixture f;
  explore_options opt;
  const std::vector<trace::Line> ops = make_alphabet(opt);
  std::size_t a = 0;
  for (auto _ : state) {
    kernel k(f.k);
    oracle o(f.o);
    k.obs = &o;
    benchmark::DoNotOptimize(apply_op(k, ops[a]));
    if (++a == ops.size()) a = 0;
  }
}
BENCHMARK(BM_Transition_CopyApply);

// Copy and apply per operation of the 3-page default alphabet (the label names it), on the
// same state: which rules cost what. BM_Transition_Copy is the part every one of them shares.
void BM_Transition_CopyApplyEach(benchmark::State& state) {
  fixture f;
  const std::vector<trace::Line> ops = make_alphabet(explore_options{});
  const trace::Line& op = ops.at(std::size_t(state.range(0)));
  for (auto _ : state) {
    kernel k(f.k);
    oracle o(f.o);
    k.obs = &o;
    benchmark::DoNotOptimize(apply_op(k, op));
  }
  state.SetLabel(trace::format_line(op));
}
BENCHMARK(BM_Transition_CopyApplyEach)->DenseRange(0, 100)->MinTime(0.05);

// Into a reused buffer, as the explorer encodes every child.
void BM_Transition_Encode(benchmark::State& state) {
  fixture f;
  std::vector<char> buf;
  std::string_view key;
  for (auto _ : state) {
    key = encode_state(f.k, f.o, f.w, buf);
    benchmark::DoNotOptimize(key.data());
  }
  state.counters["key_bytes"] = double(key.size());
}
BENCHMARK(BM_Transition_Encode);

void BM_Transition_Fingerprint(benchmark::State& state) {
  fixture f;
  std::string key;
  encode_state(f.k, f.o, f.w, key);
  for (auto _ : state) benchmark::DoNotOptimize(fingerprint(key));
}
BENCHMARK(BM_Transition_Fingerprint);

void BM_Transition_Decode(benchmark::State& state) {
  fixture f;
  std::string key;
  encode_state(f.k, f.o, f.w, key);
  for (auto _ : state) {
    kernel k(*f.pol, true);
    oracle o;
    decode_state(key, f.w, k, o);
    benchmark::DoNotOptimize(k.mm.map_count());
  }
}
BENCHMARK(BM_Transition_Decode);

void BM_Transition_Judge(benchmark::State& state) {
  fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(f.o.judge_sd(f.k).empty());
}
BENCHMARK(BM_Transition_Judge);

}  // namespace

BENCHMARK_MAIN();
