#include "sim/campaign.hpp"

#include "sim/replay.hpp"

namespace sdmc {

std::string describe(const violation& v) {
  switch (v.what) {
    case violation::kind::false_negative: return "false negative";
    case violation::kind::lost_new_mapping: return "lost new mapping";
    case violation::kind::invariant: return "invariant: " + v.message;
  }
  return "?";
}

std::optional<violation> first_violation(const trace::Trace& t, const policy& pol, mutant bug,
                                         const state_check& check) {
  replay_options opt;
  opt.expectations_are_failures = opt.results_are_failures = false;
  replayer r(t, pol, opt);
  r.k.mm.bug = bug;
  int n = 0;
  for (const trace::Line& l : t.lines) {
    ++n;
    r.step(l);
    // Judged after every operation, as if a consumer read every bit there.
    const judgement j = r.ghost.judge_sd(r.k);
    if (!j.false_negatives.empty()) return violation{violation::kind::false_negative, {}, n};
    if (pol.signals_new_mappings() && !j.lost_new_mappings.empty())
      return violation{violation::kind::lost_new_mapping, {}, n};
    if (check)
      if (auto msg = check(r.k, r.ghost)) return violation{violation::kind::invariant, *msg, n};
  }
  return std::nullopt;
}

trace::Trace shrink(const trace::Trace& t, const policy& pol, violation::kind kind, mutant bug,
                    const state_check& check) {
  auto fails = [&](const std::vector<trace::Line>& lines) {
    trace::Trace c = t;
    c.lines = lines;
    auto v = first_violation(c, pol, bug, check);
    return v && v->what == kind;
  };
  std::vector<trace::Line> cur = t.lines;
  // The prefix up to the violation suffices.
  if (auto v = first_violation(t, pol, bug, check)) cur.resize(std::size_t(v->line));
  // ddmin: remove chunks of decreasing size while the violation stays.
  for (std::size_t chunk = cur.size() / 2; chunk >= 1;) {
    bool removed = false;
    for (std::size_t at = 0; at < cur.size();) {
      std::vector<trace::Line> cand;
      cand.reserve(cur.size());
      cand.insert(cand.end(), cur.begin(), cur.begin() + std::ptrdiff_t(at));
      cand.insert(cand.end(), cur.begin() + std::ptrdiff_t(std::min(cur.size(), at + chunk)), cur.end());
      if (!cand.empty() && fails(cand)) {
        cur = std::move(cand);
        removed = true;
      } else {
        at += chunk;
      }
    }
    if (!removed) chunk /= 2;
  }
  trace::Trace out = t;
  out.lines = cur;
  for (std::size_t i = 0; i < out.lines.size(); ++i) out.lines[i].lineno = int(i + 1);
  return out;
}

generator_options campaign_case(std::uint64_t seed, std::uint64_t ops) {
  generator_options o;
  o.seed = seed;
  o.pages = 16;
  o.ops = ops;
  o.max_len = 4;
  o.weights = op_weights{15, 8, 10, 20, 6};
  o.weights.read = 8;
  o.weights.madvise = 8;
  o.weights.mremap = 6;
  o.weights.mlock = 4;
  o.weights.uffd_wp = 3;
  o.weights.scan = 3;
  o.weights.reclaim = 3;
  o.weights.fork = 2;
  o.weights.shmem_mmap = 6;
  if (seed % 3 == 2) {
    // Every third case stresses shared memory: the merges of mprotect and madvise next to a
    // fresh shmem mapping whose writable PTEs outlive its VM_SOFTDIRTY (sequences B', C).
    o.pages = 8;
    o.max_len = 2;
    o.weights = op_weights{0, 2, 8, 14, 8};
    o.weights.read = 10;
    o.weights.madvise = 8;
    o.weights.shmem_mmap = 12;
  }
  return o;
}

}  // namespace sdmc
