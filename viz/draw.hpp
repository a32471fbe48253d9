// `sdmc draw`: replays a trace under one or more policies and builds the diagram's graph, a
// snapshot at one line or a storyboard of every operation; and the storyboard SVG that other
// commands write next to each counterexample file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traces/sdtrace.hpp"
#include "viz/graph.hpp"
#include "viz/render.hpp"

namespace sdmc::viz {

struct draw_request {
  std::vector<std::string> policies{"upstream-6.12"};  // one lane each, in this order
  std::optional<int> at;   // snapshot after this line of the file (default: the end)
  bool storyboard = false; // one panel per operation instead of a snapshot
  std::optional<int> from, to;  // storyboard: the operations on these lines (inclusive)
};

// A trace as read from its file, with the file's number of lines (what --at may name).
struct loaded_trace {
  trace::Trace t;
  int lines = 0;
};
// Throws draw_error naming the file (unreadable) or file:line:column (malformed).
loaded_trace load_trace(const std::string& path);

// Throws draw_error for an unknown policy, a line outside the file, or options that
// exclude each other.
graph draw(const loaded_trace& lt, const draw_request& req);

// The storyboard of a whole trace file under one policy, written as SVG to out_path.
// Throws draw_error (callers that write counterexamples report it and go on).
void write_storyboard_svg(const std::string& trace_path, std::string_view policy,
                          const std::string& out_path);
// Where the storyboard of a counterexample file goes: beside it, with the extension .svg.
std::string storyboard_path(const std::string& counterexample_path);

}  // namespace sdmc::viz
