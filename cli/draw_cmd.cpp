// sdmc draw TRACE [--at LINE] [--policy P]... [--storyboard [--from LINE] [--to LINE]]
//                 [-o OUT.svg|OUT.png|OUT.dot]
//
// Draws the address space of a trace with Graphviz (viz/): a snapshot after --at LINE, one lane
// per policy aligned by address, or with --storyboard one panel per operation with the splits
// and merges as edges. Without -o the SVG goes to standard output.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "viz/draw.hpp"

namespace sdmc::cli {

namespace {
struct draw_args {
  std::string trace;
  std::vector<std::string> policies;
  int at = 0, from = 0, to = 0;  // 0: not given (lines are numbered from 1)
  bool storyboard = false;
  std::string out;
};

int run(const draw_args& a) {
  viz::draw_request req;
  if (!a.policies.empty()) req.policies = a.policies;
  req.storyboard = a.storyboard;
  if (a.at) req.at = a.at;
  if (a.from) req.from = a.from;
  if (a.to) req.to = a.to;
  try {
    if (!a.out.empty() && !viz::format_of(a.out))
      throw viz::draw_error(fmt::format("-o {}: the output must end in .svg, .png or .dot", a.out));
    const viz::graph g = viz::draw(viz::load_trace(a.trace), req);
    if (a.out.empty()) std::cout << viz::render(g, viz::format::svg);
    else viz::write_picture(g, a.out);
  } catch (const viz::draw_error& e) {
    fmt::print(stderr, "sdmc draw: {}\n", e.what());
    return 2;
  }
  return 0;
}
}  // namespace

void add_draw(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<draw_args>();
  CLI::App* cmd = app.add_subcommand("draw", "Draw the VMAs and pages of a trace with Graphviz");
  cmd->add_option("trace", a->trace, "sdtrace file")->required();
  cmd->add_option("--at", a->at, "draw the state after this line (default: the end)");
  cmd->add_option("--policy", a->policies, "soft-dirty design; repeat to draw several side by side")
      ->take_all();
  cmd->add_flag("--storyboard", a->storyboard, "one panel per operation, with splits and merges");
  cmd->add_option("--from", a->from, "storyboard: first line");
  cmd->add_option("--to", a->to, "storyboard: last line");
  cmd->add_option("-o,--output", a->out, "OUT.svg, OUT.png or OUT.dot (default: SVG on stdout)");
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace sdmc::cli
