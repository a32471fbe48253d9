#include "sim/campaign.hpp"

#include <algorithm>

namespace sdmc {

trace::Trace shrink(const trace::Trace& t, const std::function<bool(const trace::Trace&)>& fails) {
  auto still = [&](const std::vector<trace::Line>& lines) {
    trace::Trace c = t;
    c.lines = lines;
    return fails(c);
  };
  std::vector<trace::Line> cur = t.lines;
  // ddmin: remove chunks of decreasing size while the failure stays.
  for (std::size_t chunk = cur.size() / 2; chunk >= 1;) {
    bool removed = false;
    for (std::size_t at = 0; at < cur.size();) {
      std::vector<trace::Line> cand;
      cand.reserve(cur.size());
      cand.insert(cand.end(), cur.begin(), cur.begin() + std::ptrdiff_t(at));
      cand.insert(cand.end(), cur.begin() + std::ptrdiff_t(std::min(cur.size(), at + chunk)), cur.end());
      if (!cand.empty() && still(cand)) {
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
  o.weights = every_op_weights();
  o.weights.fork = 2;
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
