// sdmc generate [--seed S] [--ops N] [--pages P] [--base ADDR] [-o FILE]: a random trace
// from the generator the benchmarks and properties use (deterministic per seed).
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "sim/generator.hpp"

namespace sdmc::cli {

void add_generate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<generator_options>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("generate", "Write a random sdtrace (the benchmark mix by default)");
  cmd->add_option("--seed", o->seed, "random seed");
  cmd->add_option("--ops", o->ops, "number of operations");
  cmd->add_option("--pages", o->pages, "window size in pages")->check(CLI::Range(8, 1 << 20));
  cmd->add_option("--base", o->base, "window start address");
  cmd->add_option("-o,--output", *out, "output file (default: standard output)");
  cmd->callback([o, out, &exit_code] {
    std::string text = trace::write(generate_trace(*o));
    if (out->empty()) {
      std::cout << text;
      return;
    }
    std::ofstream f(*out);
    f << text;
    if (!f) {
      fmt::print(stderr, "sdmc generate: cannot write {}\n", *out);
      exit_code = 2;
    }
  });
}

}  // namespace sdmc::cli
