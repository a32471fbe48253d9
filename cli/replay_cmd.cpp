// sdmc replay TRACE... [--policy NAME] [--mutant NAME] [--droppable DESIGN] [--json] [--no-oracle]
//                      [--invariants]
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/mutant_option.hpp"
#include "cli/report.hpp"
#include "model/policy.hpp"
#include "sim/invariants.hpp"
#include "sim/replay.hpp"
#include "traces/stream.hpp"

namespace sdmc::cli {

namespace {
struct replay_args {
  std::vector<std::string> traces;
  std::string policy = "upstream-6.12";
  std::string mutant;  // model/mutant.hpp; empty: none
  std::string droppable = "swapbacked";
  bool json = false;
  bool no_oracle = false;
  bool invariants = false;
};

// The first structural invariant (sim/invariants.hpp) a trace breaks: after which line, and how.
struct broken_invariant {
  int line = 0;
  std::string message;
};


// A broken invariant fails the trace under every policy, as a failed check does.
std::string verdict_of(const replayer& r, bool invariant_broken) {
  return r.failures.empty() && !invariant_broken ? "PASS" : "FAIL";
}

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
    replay_options opt;
    opt.expectations_are_failures = opt.results_are_failures = baseline;
    opt.droppable = *droppable;
    opt.oracle = !a.no_oracle;
    // Parsed on a second thread while the model replays (traces/stream.hpp): a long trace
    // costs about the larger of the two, and memory holds a few batches, not every line.
    std::optional<replayer> r;
    std::optional<broken_invariant> inv;
    std::uint64_t lines = 0;
    pset touched;
    try {
      const trace::trace_text file(path);
      const std::string_view text = file.view();
      trace::parse_streamed(text, path, 4096,
                            [&](const trace::Trace& headers, const std::vector<trace::Line>& batch) {
                              if (!r) {
                                r.emplace(headers, *pol, opt);
                                r->k.mm.bug = *bug;
                              }
                              for (const trace::Line& l : batch) {
                                r->step(l);
                                if (a.invariants && !inv)
                                  if (auto v = check_invariants(r->k)) inv = broken_invariant{l.lineno, *v};
                              }
                              lines += batch.size();
                              if (a.json) touched += touched_pages(batch);
                            });
      if (!r) {  // no operation at all: the headers alone
        r.emplace(trace::parse(text, path), *pol, opt);
        r->k.mm.bug = *bug;
      }
    } catch (const trace::ParseError& e) {
      fmt::print(stderr, "sdmc replay: {}\n", e.what());
      rc = 2;
      continue;
    }
    r->finish();
    const std::string verdict = verdict_of(*r, bool(inv));
    if (verdict != "PASS" && rc == 0) rc = 1;
    const oracle_counts& c = r->ghost.sd;
    if (a.json) {
      all.push_back({{"path", path},
                     {"policy", a.policy},
                     {"mutant", std::string(mutant_name(*bug))},
                     {"verdict", verdict},
                     {"invariant", inv ? nlohmann::json{{"line", inv->line}, {"message", inv->message}}
                                       : nlohmann::json()},
                     {"oracle", !a.no_oracle},
                     {"failures", checks_json(r->failures)},
                     {"differences", checks_json(r->differences)},
                     {"false_negatives", c.false_negatives},
                     {"lost_new_mappings", c.lost_new_mappings},
                     {"false_positives", c.false_positives},
                     {"kernel_gaps", c.kernel_gaps},
                     {"written", counts_json(r->ghost.written)},
                     {"vmas", vmas_json(r->k)},
                     {"pages", pages_json(r->k, touched)}});
      continue;
    }
    const std::string under =
        a.policy + (*bug == mutant::none ? "" : " with mutant " + a.mutant) +
        (*droppable == droppable_design::swapbacked ? "" : ", droppable " + a.droppable);
    if (a.no_oracle)
      fmt::print("{}: {} under {} ({} lines; oracle off)\n", path, verdict, under, lines);
    else
      fmt::print("{}: {} under {} ({} lines; false negatives {}, lost new mappings {}, false "
                 "positives {}, kernel gaps {})\n",
                 path, verdict, under, lines, c.false_negatives, c.lost_new_mappings,
                 c.false_positives, c.kernel_gaps);
    // The write-protect mechanism's own classes, once a uffd-wp reset made them mean something.
    if (!a.no_oracle && r->ghost.wp_tracking()) {
      const oracle_counts& w = r->ghost.written;
      fmt::print("  PAGE_IS_WRITTEN: false negatives {}, lost new mappings {}, false positives {}\n",
                 w.false_negatives, w.lost_new_mappings, w.false_positives);
    }
    if (inv) fmt::print("  INVARIANT {}:{}: {}\n", path, inv->line, inv->message);
    print_checks("FAILED", r->failures, path);
    print_checks("differs", r->differences, path);
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
  cmd->add_flag("--invariants", args->invariants,
                "check the structural invariants (sim/invariants.hpp) after every line; the "
                "first broken one fails the trace");
  cmd->add_flag("--no-oracle", args->no_oracle,
                "the model alone, without the ghost oracle's judgement (results and `expect` "
                "lines are still checked): what the native replayer does, for speed comparisons");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace sdmc::cli
