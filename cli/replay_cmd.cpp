// sdmc replay TRACE... [--policy NAME] [--mutant NAME] [--droppable DESIGN] [--json]
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/mutant_option.hpp"
#include "cli/report.hpp"
#include "model/policy.hpp"
#include "sim/replay.hpp"

namespace sdmc::cli {

namespace {
struct replay_args {
  std::vector<std::string> traces;
  std::string policy = "upstream-6.12";
  std::string mutant;  // model/mutant.hpp; empty: none
  std::string droppable = "swapbacked";
  bool json = false;
};

std::string verdict_of(const replayer& r) { return r.failures.empty() ? "PASS" : "FAIL"; }

void print_checks(const char* title, const std::vector<check_failure>& checks,
                  const std::string& path) {
  for (const check_failure& c : checks) {
    fmt::print("  {} {}:{}: {}\n", title, path, c.line, c.op);
    fmt::print("      expected: {}\n      computed: {}\n", c.expected, c.computed);
  }
}

nlohmann::json checks_json(const std::vector<check_failure>& checks) {
  nlohmann::json arr = nlohmann::json::array();
  for (const check_failure& c : checks)
    arr.push_back({{"line", c.line}, {"op", c.op}, {"expected", c.expected}, {"computed", c.computed}});
  return arr;
}

int run(const replay_args& a) {
  auto pol = make_policy(a.policy);
  if (!pol) {
    fmt::print(stderr, "sdmc replay: unknown policy '{}' (known: {})\n", a.policy,
               fmt::join(policy_names(), ", "));
    return 2;
  }
  const auto bug = parse_mutant_option(a.mutant, "sdmc replay");
  if (!bug) return 2;
  const auto droppable = parse_droppable_option(a.droppable, "sdmc replay");
  if (!droppable) return 2;
  const bool baseline = a.policy == "upstream-6.12";
  int rc = 0;
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& path : a.traces) {
    trace::Trace t;
    try {
      t = trace::parse_file(path);
    } catch (const trace::ParseError& e) {
      fmt::print(stderr, "sdmc replay: {}\n", e.what());
      rc = 2;
      continue;
    }
    replay_options opt;
    opt.expectations_are_failures = opt.results_are_failures = baseline;
    opt.droppable = *droppable;
    replayer r(t, *pol, opt);
    r.k.mm.bug = *bug;
    for (const trace::Line& l : t.lines) r.step(l);
    r.finish();
    if (!r.failures.empty() && rc == 0) rc = 1;
    if (a.json) {
      all.push_back({{"path", path},
                     {"policy", a.policy},
                     {"mutant", std::string(mutant_name(*bug))},
                     {"verdict", verdict_of(r)},
                     {"failures", checks_json(r.failures)},
                     {"differences", checks_json(r.differences)},
                     {"false_negatives", r.ghost.sd.false_negatives},
                     {"lost_new_mappings", r.ghost.sd.lost_new_mappings},
                     {"false_positives", r.ghost.sd.false_positives},
                     {"kernel_gaps", r.ghost.sd.kernel_gaps},
                     {"written", counts_json(r.ghost.written)},
                     {"vmas", vmas_json(r.k)},
                     {"pages", pages_json(r.k, touched_pages(t))}});
      continue;
    }
    fmt::print("{}: {} under {} ({} lines; false negatives {}, lost new mappings {}, false "
               "positives {}, kernel gaps {})\n",
               path, verdict_of(r),
               a.policy + (*bug == mutant::none ? "" : " with mutant " + a.mutant) +
                   (*droppable == droppable_design::swapbacked ? "" : ", droppable " + a.droppable),
               t.lines.size(), r.ghost.sd.false_negatives, r.ghost.sd.lost_new_mappings,
               r.ghost.sd.false_positives, r.ghost.sd.kernel_gaps);
    print_checks("FAILED", r.failures, path);
    print_checks("differs", r.differences, path);
  }
  if (a.json) std::cout << (a.traces.size() == 1 && !all.empty() ? all[0] : all).dump(2) << "\n";
  return rc;
}
}  // namespace

void add_replay(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<replay_args>();
  CLI::App* cmd = app.add_subcommand("replay", "Replay sdtrace files on the model and check them");
  cmd->add_option("traces", args->traces, "sdtrace files")->required();
  cmd->add_option("--policy", args->policy, "soft-dirty design to model");
  cmd->add_option("--mutant", args->mutant, "switch one historical bug into the model (model/mutant.hpp)");
  cmd->add_option("--droppable", args->droppable,
                  "droppable design: swapbacked (Linux 6.12, the default) or dirty-skip (July 2024)");
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace sdmc::cli
