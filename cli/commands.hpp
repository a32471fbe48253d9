// The sdmc subcommands. Each registers itself on the CLI11 app and returns the exit status
// through `exit_code`: 0 every check holds, 1 a check failed, 2 bad input.
#pragma once

#include <CLI/CLI.hpp>

namespace sdmc::cli {

void add_replay(CLI::App& app, int& exit_code);
void add_maps(CLI::App& app, int& exit_code);
void add_generate(CLI::App& app, int& exit_code);
void add_kernel_diff(CLI::App& app, int& exit_code);
void add_check(CLI::App& app, int& exit_code);
void add_compare(CLI::App& app, int& exit_code);
void add_explore(CLI::App& app, int& exit_code);
void add_draw(CLI::App& app, int& exit_code);
void add_record(CLI::App& app, int& exit_code);
void add_import_strace(CLI::App& app, int& exit_code);

}  // namespace sdmc::cli
