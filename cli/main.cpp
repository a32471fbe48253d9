// sdmc: a model checker for Linux VMA soft-dirty semantics.
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sdmc: kernel simulator and model checker for Linux VMA soft-dirty semantics"};
  app.require_subcommand(1);
  int exit_code = 0;
  sdmc::cli::add_replay(app, exit_code);
  sdmc::cli::add_maps(app, exit_code);
  sdmc::cli::add_generate(app, exit_code);
  sdmc::cli::add_kernel_diff(app, exit_code);
  sdmc::cli::add_check(app, exit_code);
  sdmc::cli::add_compare(app, exit_code);
  sdmc::cli::add_explore(app, exit_code);
  sdmc::cli::add_draw(app, exit_code);
  sdmc::cli::add_record(app, exit_code);
  sdmc::cli::add_import_strace(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
