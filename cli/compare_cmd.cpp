// sdmc compare TRACE... [--policy P]... [--clear-at-epochs] [--json | --csv]
//
// Every trace under every design: the oracle's three classes and the kernel-mandated gaps,
// VMA count (maximum and final), the design's metadata (non_sd_reg nodes and bytes), the
// operations whose result differs from the recording, and the replay time. With
// --clear-at-epochs a consumer clears (clear_refs, or the uffd-wp reset under that design)
// and reads every bit at each `epoch`, the way CRIU pre-dumps or GetWriteWatch would.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "model/policy.hpp"
#include "sim/metrics.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::cli {

namespace {
struct compare_args {
  std::vector<std::string> traces, policies;
  bool clear_at_epochs = false, json = false, csv = false;
};

// An epoch becomes `epoch` + `clear_refs`: the consumer reads everything (the oracle judges
// at the epoch) and clears.
trace::Trace with_clears(const trace::Trace& t) {
  trace::Trace out = t;
  out.lines.clear();
  for (const trace::Line& l : t.lines) {
    out.lines.push_back(l);
    if (std::holds_alternative<trace::Epoch>(l.op)) out.lines.push_back(trace::Line{l.lineno, trace::ClearRefs{}, {}});
  }
  return out;
}

int run(const compare_args& a) {
  if (a.json && a.csv) {
    fmt::print(stderr, "sdmc compare: --json and --csv exclude each other\n");
    return 2;
  }
  std::vector<std::string> names = a.policies.empty() ? policy_names() : a.policies;
  std::vector<std::unique_ptr<policy>> pols;
  for (const std::string& n : names) {
    pols.push_back(make_policy(n));
    if (!pols.back()) {
      fmt::print(stderr, "sdmc compare: unknown policy '{}' (known: {})\n", n, fmt::join(policy_names(), ", "));
      return 2;
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  if (a.csv)
    fmt::print("trace,policy,lines,false_negatives,lost_new_mappings,false_positives,kernel_gaps,"
               "vma_max,vma_final,non_sd_reg_nodes_max,extra_metadata_bytes_max,metadata_bytes_max,"
               "result_differences,seconds\n");
  else if (!a.json)
    fmt::print("{:34} {:18} {:>7} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>9} {:>7} {:>8}\n", "trace",
               "policy", "lines", "false-neg", "lost-new", "false-pos", "k-gaps", "VMA max",
               "VMA end", "nodes", "extra B", "res-dif", "time s");
  for (const std::string& path : a.traces) {
    trace::Trace t;
    try {
      t = trace::parse_file(path);
    } catch (const trace::ParseError& e) {
      fmt::print(stderr, "{}\n", e.what());
      return 2;
    }
    if (a.clear_at_epochs) t = with_clears(t);
    for (std::size_t p = 0; p < pols.size(); ++p) {
      const run_metrics m = measure(t, *pols[p]);
      if (a.json) {
        rows.push_back({{"trace", path}, {"policy", names[p]}, {"lines", m.lines},
                        {"false_negatives", m.sd.false_negatives},
                        {"lost_new_mappings", m.sd.lost_new_mappings},
                        {"false_positives", m.sd.false_positives}, {"kernel_gaps", m.sd.kernel_gaps},
                        {"vma_max", m.vma_max}, {"vma_final", m.vma_final},
                        {"non_sd_reg_nodes_max", m.nodes_max},
                        {"extra_metadata_bytes_max", m.extra_bytes_max},
                        {"metadata_bytes_max", m.metadata_bytes_max},
                        {"result_differences", m.result_differences}, {"seconds", m.seconds}});
      } else if (a.csv) {
        fmt::print("{},{},{},{},{},{},{},{},{},{},{},{},{},{:.6f}\n", path, names[p], m.lines,
                   m.sd.false_negatives, m.sd.lost_new_mappings, m.sd.false_positives,
                   m.sd.kernel_gaps, m.vma_max, m.vma_final, m.nodes_max, m.extra_bytes_max,
                   m.metadata_bytes_max, m.result_differences, m.seconds);
      } else {
        std::string shown = path.size() > 34 ? "..." + path.substr(path.size() - 31) : path;
        fmt::print("{:34} {:18} {:>7} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>9} {:>7} {:>8.3f}\n",
                   shown, names[p], m.lines, m.sd.false_negatives, m.sd.lost_new_mappings,
                   m.sd.false_positives, m.sd.kernel_gaps, m.vma_max, m.vma_final, m.nodes_max,
                   m.extra_bytes_max, m.result_differences, m.seconds);
      }
    }
  }
  if (a.json) std::cout << rows.dump(2) << "\n";
  return 0;
}
}  // namespace

void add_compare(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<compare_args>();
  CLI::App* cmd = app.add_subcommand("compare", "Every trace under every design, side by side");
  cmd->add_option("traces", args->traces, "sdtrace files")->required();
  cmd->add_option("--policy", args->policies, "designs (default: all)");
  cmd->add_flag("--clear-at-epochs", args->clear_at_epochs, "clear and read every bit at each epoch");
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->add_flag("--csv", args->csv, "CSV output");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace sdmc::cli
