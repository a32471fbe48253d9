// sdmc record -o OUT.sdt [--interval MS] -- PROGRAM [ARGS...]: run a program and write an
// sdtrace of what it did to its address space (record/session.hpp says how).
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <memory>

#include "cli/commands.hpp"
#include "record/session.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::cli {

void add_record(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<record::session_options>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "record", "Run PROGRAM and record its memory system calls, stores and loads as an sdtrace");
  cmd->add_option("-o,--output", *out, "output trace (.sdt, or .sdt.zst for zstd)")->required();
  cmd->add_option("--interval", o->interval_ms,
                  "also harvest written pages every MS milliseconds (0: only before memory calls)")
      ->capture_default_str();
  cmd->add_flag("--epoch-per-call", o->epoch_per_call,
               "harvest every page before every memory call, each harvest an epoch (slower)");
  cmd->add_option("program", o->argv, "the program and its arguments (after --)")
      ->required()
      ->expected(-1);
  cmd->callback([o, out, &exit_code] {
    record::session_result r = record::run_session(*o);
    if (!r.error.empty()) {
      fmt::print(stderr, "sdmc record: {}\n", r.error);
      exit_code = 2;
      return;
    }
    if (!trace::write_file(*out, r.trace)) {
      fmt::print(stderr, "sdmc record: cannot write {}: {}\n", *out, std::strerror(errno));
      exit_code = 2;
      return;
    }
    if (!r.warning.empty()) fmt::print(stderr, "sdmc record: warning: {}\n", r.warning);
    if (r.signal) {
      // The program's own ending: die of the same signal, without a second core dump.
      rlimit no_core{0, 0};
      setrlimit(RLIMIT_CORE, &no_core);
      signal(r.signal, SIG_DFL);
      raise(r.signal);
    }
    exit_code = r.exit_code;
  });
}

}  // namespace sdmc::cli
