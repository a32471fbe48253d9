#include "sim/metrics.hpp"

#include <algorithm>
#include <chrono>

#include "model/kernel_layout.hpp"

namespace sdmc {

run_metrics& run_metrics::operator+=(const run_metrics& o) {
  sd += o.sd;
  vma_max = std::max(vma_max, o.vma_max);
  vma_final += o.vma_final;
  nodes_max = std::max(nodes_max, o.nodes_max);
  extra_bytes_max = std::max(extra_bytes_max, o.extra_bytes_max);
  metadata_bytes_max = std::max(metadata_bytes_max, o.metadata_bytes_max);
  result_differences += o.result_differences;
  lines += o.lines;
  seconds += o.seconds;
  return *this;
}

run_metrics measure(const trace::Trace& t, const policy& pol, mutant bug) {
  run_metrics m;
  replay_options opt;
  opt.expectations_are_failures = opt.results_are_failures = false;
  const auto t0 = std::chrono::steady_clock::now();
  replayer r(t, pol, opt);
  r.k.mm.bug = bug;
  for (const trace::Line& l : t.lines) {
    r.step(l);
    const std::uint64_t vmas = r.k.mm.map_count();
    m.vma_max = std::max(m.vma_max, vmas);
    std::uint64_t extra = 0;
    if (pol.has_page_granular_state()) {
      m.nodes_max = std::max(m.nodes_max, pol.non_sd_reg_nodes(r.k.mm));
      extra = pol.extra_metadata_bytes(r.k.mm);
      m.extra_bytes_max = std::max(m.extra_bytes_max, extra);
    }
    m.metadata_bytes_max = std::max(m.metadata_bytes_max, vmas * kernel_layout::vm_area_struct + extra);
  }
  r.finish();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.sd = r.ghost.sd;
  m.vma_final = r.k.mm.map_count();
  m.lines = t.lines.size();
  for (const check_failure& d : r.differences)
    if (d.op.rfind("expect", 0) != 0) ++m.result_differences;  // `= RESULT`, not `expect`
  return m;
}

}  // namespace sdmc
