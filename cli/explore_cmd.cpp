// sdmc explore --policy P [--pages N] [--depth D] [--ops LIST] [--mutant NAME] [--out DIR]
//              [--max-states M] [--no-swap] [--droppable DESIGN] [--precision] [--quiet]
//              [--engine auto|model|compact] [--cross-check]
// The bounded exhaustive model checker (sim/explorer.hpp): every operation sequence of at most
// D operations inside an N-page window, breadth first, each distinct state once, the structural
// invariants (sim/invariants.hpp) and soundness checked at every state. Exit 0 no
// violation, 1 a violation (its shortest trace written to --out), 2 bad input. Under
// upstream-6.12 a false negative or lost new mapping is a finding of the design: reported with
// its trace, exit 0.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/report.hpp"
#include "cli/mutant_option.hpp"
#include "model/mutant.hpp"
#include "model/policy.hpp"
#include "sim/explorer.hpp"

namespace sdmc::cli {

namespace {
namespace fs = std::filesystem;

struct explore_args {
  std::string policy = "upstream-6.12";
  unsigned pages = 3, depth = 5;  // 4.1 M states, about 24 s of CPU (docs/performance.md)
  std::string ops;
  std::string mutant_name;
  std::string droppable = "swapbacked";
  std::string out = "sdmc-out";
  std::uint64_t max_states = 0;
  std::string engine = "auto";
  bool no_swap = false, quiet = false, precision = false, cross_check = false;
};

std::string grouped(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(std::size_t(i), ",");
  return s;
}

std::string command_line(const explore_args& a, const explore_options& o) {
  std::string c = fmt::format("sdmc explore --policy {} --pages {} --depth {} --ops {}", a.policy,
                              a.pages, a.depth, o.ops);
  if (!a.mutant_name.empty()) c += " --mutant " + a.mutant_name;
  if (a.no_swap) c += " --no-swap";
  if (a.droppable != "swapbacked") c += " --droppable " + a.droppable;
  if (a.precision) c += " --precision";
  return c;
}

// Writes the counterexample and prints it; returns the file name ("" when it could not be written).
std::string report(const explore_args& a, const explore_options& o, const policy& pol,
                   const explore_counterexample& c, const char* title, const std::string& stem) {
  fmt::print("{}: {} ({}) after {} operation{}:\n", title, c.what, c.detail, c.ops.size(),
             c.ops.size() == 1 ? "" : "s");
  trace::Trace t = counterexample_trace(pol, o, c.ops);
  for (const trace::Line& l : t.lines) fmt::print("  {}\n", trace::format_line(l));
  std::error_code ec;
  fs::create_directories(a.out, ec);
  const fs::path file = fs::path(a.out) / (stem + ".sdt");
  errno = 0;
  std::ofstream f(file);
  f << "# " << command_line(a, o) << "\n# a shortest trace to a " << c.what << ": " << c.detail
    << "\n# reproduce: sdmc replay --invariants --policy " << a.policy
    << (a.mutant_name.empty() ? "" : " --mutant " + a.mutant_name)
    << (a.droppable == "swapbacked" ? "" : " --droppable " + a.droppable) << " " << file.string() << "\n"
    << trace::write(t);
  f.close();
  if (!f) {
    fmt::print(stderr, "sdmc explore: cannot write {}: {}\n", file.string(),
               ec ? ec.message() : errno ? std::strerror(errno) : "write failed");
    return "";
  }
  fmt::print("  written to {}\n", file.string());
  storyboard_beside(file.string(), a.policy, "explore");
  return file.string();
}

int run(const explore_args& a) {
  auto pol = make_policy(a.policy);
  if (!pol) {
    fmt::print(stderr, "sdmc explore: unknown policy '{}' (known: {})\n", a.policy,
               fmt::join(policy_names(), ", "));
    return 2;
  }
  explore_options o;
  o.pages = a.pages;
  o.depth = a.depth;
  o.ops = a.ops.empty() ? std::string(default_ops) : a.ops;
  o.swap = !a.no_swap;
  o.max_states = a.max_states;
  o.soundness_is_finding = a.policy == "upstream-6.12";
  const auto parsed = parse_mutant_option(a.mutant_name, "sdmc explore");
  if (!parsed) return 2;
  o.bug = *parsed;
  const auto droppable = parse_droppable_option(a.droppable, "sdmc explore");
  if (!droppable) return 2;
  o.droppable = *droppable;
  o.precision = a.precision;
  if (a.engine != "auto" && a.engine != "model" && a.engine != "compact") {
    fmt::print(stderr, "sdmc explore: unknown --engine '{}' (known: auto, model, compact)\n", a.engine);
    return 2;
  }
  o.engine = a.engine == "compact" ? explore_engine::compact : explore_engine::model;
  o.cross_check = a.cross_check;
  std::size_t alphabet = 0;
  std::string engine = a.engine + " engine";
  try {
    const std::vector<trace::Line> ops = make_alphabet(o);
    alphabet = ops.size();
    if (a.engine == "auto") {
      std::string why;
      o.engine = auto_engine(*pol, o, ops, &why);
      engine = o.engine == explore_engine::model ? "model engine (auto: the compact engine does not cover " + why + ")"
                                                 : "compact engine (auto)";
    }
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "sdmc explore: {}\n", e.what());
    return 2;
  }
  fmt::print("sdmc explore: policy {}{}, {} page{} at {:#x}, depth {}, {} operations per state "
             "({}), swap {}, {}{}\n",
             a.policy, a.mutant_name.empty() ? "" : ", mutant " + a.mutant_name, a.pages,
             a.pages == 1 ? "" : "s", o.base,
             a.depth, alphabet, o.ops, o.swap ? "on" : "off", engine,
             a.cross_check ? " cross-checked against the model" : "");
  std::fflush(stdout);

  const bool tty = isatty(2);
  auto progress = [&](const explore_progress& p) {
    if (a.quiet) return;
    fmt::print(stderr, "{}depth {}: {} states, {} transitions, level {:.0f}% ({}/{}), {} states/s{}",
               tty ? "\r" : "", p.depth + 1, grouped(p.states), grouped(p.transitions),
               100.0 * double(p.expanded) / double(p.frontier), grouped(p.expanded),
               grouped(p.frontier), grouped(std::uint64_t(double(p.states) / p.seconds)),
               tty ? "\033[K" : "\n");
  };
  explore_result r;
  try {
    r = explore(*pol, o, progress);
  } catch (const std::invalid_argument& e) {
    if (tty && !a.quiet) fmt::print(stderr, "\n");
    fmt::print(stderr, "sdmc explore: {}\n", e.what());
    return 2;
  } catch (const std::logic_error& e) {
    // Not bad input: the two implementations of the rules disagree (--cross-check), or a
    // counterexample did not reproduce from the initial state: a bug of sdmc itself.
    if (tty && !a.quiet) fmt::print(stderr, "\n");
    fmt::print(stderr, "sdmc explore: ERROR: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    if (tty && !a.quiet) fmt::print(stderr, "\n");
    fmt::print(stderr, "sdmc explore: {}\n", e.what());
    return 2;
  }
  if (tty && !a.quiet) fmt::print(stderr, "\r\033[K");

  for (std::size_t d = 0; d < r.states_at_depth.size(); ++d)
    fmt::print("  depth {}: {} new state{}\n", d, grouped(r.states_at_depth[d]),
               r.states_at_depth[d] == 1 ? "" : "s");
  const double secs = std::max(r.cpu_seconds, 1e-9);
  fmt::print("distinct states: {}; transitions: {} ({} back to their own state); {:.2f} s "
             "({:.2f} s CPU); per CPU second {} states, {} transitions; longest state key {} "
             "bytes (128-bit fingerprints in the visited set)\n",
             grouped(r.states), grouped(r.transitions), grouped(r.self_loops), r.seconds,
             r.cpu_seconds,
             grouped(std::uint64_t(double(r.states) / secs)),
             grouped(std::uint64_t(double(r.transitions) / secs)), r.key_bytes_max);
  if (r.complete)
    fmt::print("explored completely to depth {}\n", a.depth);
  else if (!r.violation)
    fmt::print("stopped at --max-states {}: complete to depth {} only\n", grouped(a.max_states),
               r.depth_done);

  std::string stem = "explore-" + a.policy + (a.mutant_name.empty() ? "" : "-" + a.mutant_name);
  // A counterexample that could not be written is an error (exit 2) even where the search
  // itself succeeded: the finding would be lost.
  bool unwritten = false;
  if (r.false_negative)
    unwritten |= report(a, o, *pol, *r.false_negative, "finding (the design's own bug)",
                        stem + "-false-negative").empty();
  if (r.lost_new_mapping)
    unwritten |= report(a, o, *pol, *r.lost_new_mapping, "finding (the design's own bug)",
                        stem + "-lost-new-mapping").empty();
  if (r.finding_states)
    fmt::print("{} distinct state{} with a finding under {}\n", grouped(r.finding_states),
               r.finding_states == 1 ? "" : "s", a.policy);
  if (r.violation) {
    report(a, o, *pol, *r.violation, "VIOLATION", stem + "-violation");
    return 1;
  }
  fmt::print("no violation\n");
  return unwritten ? 2 : 0;
}
}  // namespace

void add_explore(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<explore_args>();
  CLI::App* cmd = app.add_subcommand(
      "explore", "Explore every operation sequence in a small window (bounded model checking)");
  cmd->add_option("--policy", a->policy, "soft-dirty design to check");
  cmd->add_option("--pages", a->pages, "window size in pages (1-16)");
  cmd->add_option("--depth", a->depth, "operations per sequence at most");
  std::string families;
  for (const op_family& f : op_families()) families += fmt::format("\n  {}: {}", f.name, f.what);
  cmd->add_option("--ops", a->ops,
                  fmt::format("operation families, comma-separated (default: {}):{}", default_ops,
                              families));
  cmd->add_option("--mutant", a->mutant_name, "switch one historical bug into the model");
  cmd->add_option("--out", a->out, "where counterexample traces go");
  cmd->add_option("--max-states", a->max_states, "stop after this many distinct states (0: no limit)");
  cmd->add_flag("--no-swap", a->no_swap, "no swap device (`swap off`)");
  cmd->add_option("--droppable", a->droppable,
                  "droppable design: swapbacked (Linux 6.12, the default) or dirty-skip (July 2024)");
  cmd->add_flag("--precision", a->precision,
                "also a violation: a false positive (not for uffd-wp, whose zaps read written)");
  cmd->add_flag("--quiet", a->quiet, "no progress line");
  cmd->add_option("--engine", a->engine,
                  "auto (the default: compact where it covers the search, else model), model (every "
                  "operation and design) or compact (a 128-byte state, 64 bytes without memory files: "
                  "private anonymous memory and memory files, at most 8 pages, every design, nine of the ten mutants; not MAP_DROPPABLE; "
                  "sim/compact/rules.hpp)");
  cmd->add_flag("--cross-check", a->cross_check,
                "with --engine compact: run every transition and judgement in the model too and "
                "stop at the first difference (exit 1)");
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace sdmc::cli
