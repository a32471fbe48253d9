// sdmc import-strace LOG -o PREFIX [--kernel RELEASE]: `strace -f -e trace=memory` output as
// layout-only sdtraces, PREFIX.PID.sdt per process (record/strace_import.hpp).
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "record/strace_import.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::cli {

namespace {
struct import_args {
  std::string log, prefix, kernel = "unknown";
};

int run(const import_args& a) {
  std::ifstream in(a.log, std::ios::binary);
  if (!in) {
    fmt::print(stderr, "sdmc import-strace: cannot read {}: {}\n", a.log, std::strerror(errno));
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  record::strace_import r = record::import_strace(text.str(), a.kernel, a.log);
  for (const record::strace_problem& p : r.problems)
    fmt::print(stderr, "sdmc import-strace: {}:{}: {}\n", a.log, p.line, p.what);
  for (const auto& [key, trace] : r.traces) {
    const std::string path = a.prefix + "." + key + ".sdt";
    if (!trace::write_file(path, trace)) {
      fmt::print(stderr, "sdmc import-strace: cannot write {}: {}\n", path, std::strerror(errno));
      return 2;
    }
    fmt::print("{}\n", path);
  }
  if (!r.problems.empty()) {
    fmt::print(stderr, "sdmc import-strace: {} line(s) of {} not understood ({} memory calls converted)\n",
               r.problems.size(), a.log, r.calls);
    return 2;
  }
  if (r.traces.empty()) {
    fmt::print(stderr, "sdmc import-strace: no memory system calls in {}\n", a.log);
    return 2;
  }
  return 0;
}
}  // namespace

void add_import_strace(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<import_args>();
  CLI::App* cmd = app.add_subcommand(
      "import-strace", "Convert `strace -f -e trace=memory` output into layout-only sdtraces, one per PID");
  cmd->add_option("log", a->log, "strace output (strace -f [-tt] [-y] -e trace=memory -o LOG ...)")
      ->required();
  cmd->add_option("-o,--output", a->prefix, "prefix of the traces: PREFIX.PID.sdt")->required();
  cmd->add_option("--kernel", a->kernel,
                  "release the log was recorded on, for the `kernel` header")
      ->capture_default_str();
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace sdmc::cli
