// sdmc maps TRACE [--at LINE] [--policy NAME] [--mutant NAME]
#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/mutant_option.hpp"
#include "cli/report.hpp"
#include "model/policy.hpp"
#include "sim/replay.hpp"

namespace sdmc::cli {

namespace {
struct maps_args {
  std::string trace;
  int at = 0;  // 0: the end of the trace
  std::string policy = "upstream-6.12";
  std::string mutant;  // model/mutant.hpp; empty: none
};

int run(const maps_args& a) {
  auto pol = make_policy(a.policy);
  if (!pol) {
    fmt::print(stderr, "sdmc maps: unknown policy '{}'\n", a.policy);
    return 2;
  }
  const auto bug = parse_mutant_option(a.mutant, "sdmc maps");
  if (!bug) return 2;
  trace::Trace t;
  try {
    t = trace::parse_file(a.trace);
  } catch (const trace::ParseError& e) {
    fmt::print(stderr, "sdmc maps: {}\n", e.what());
    return 2;
  }
  replay_options opt;
  opt.expectations_are_failures = opt.results_are_failures = false;
  replayer r(t, *pol, opt);
  r.k.mm.bug = *bug;
  for (const trace::Line& l : t.lines) {
    if (a.at && l.lineno > a.at) break;
    r.step(l);
  }
  fmt::print("# {} after {} ({})\n", a.trace, a.at ? fmt::format("line {}", a.at) : "the last line",
             a.policy);
  fmt::print("# pages: D present+sd  p present  S swapped+sd  s swapped  M/m uffd-wp marker  "
             "d not present+sd  .  not present; c{{N}} = N pages\n");
  for (const vma_ref& v : r.k.mm.all_vmas()) {
    fmt::print("{}\n", maps_line(r.k, v));
    fmt::print("    VmFlags: {}\n", vm_flags_smaps(v.v.vm_flags));
    fmt::print("    pages:   {}\n", page_strip(r.k, v.vm_start, v.vm_end));
  }
  return 0;
}
}  // namespace

void add_maps(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<maps_args>();
  CLI::App* cmd = app.add_subcommand("maps", "Show the address space after a line of a trace");
  cmd->add_option("trace", args->trace, "sdtrace file")->required();
  cmd->add_option("--at", args->at, "replay up to and including this line");
  cmd->add_option("--policy", args->policy, "soft-dirty design to model");
  cmd->add_option("--mutant", args->mutant, "switch one historical bug into the model (model/mutant.hpp)");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace sdmc::cli
