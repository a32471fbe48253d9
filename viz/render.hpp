// Rendering a diagram's graph with Graphviz's libraries, in-process: cgraph builds the graph,
// gvc lays it out with dot and renders SVG or PNG. DOT is the graph as built, without layout.
// This is the only file that sees Graphviz.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "viz/graph.hpp"

namespace sdmc::viz {

// Bad input or a failure to draw; the message names what and where. The CLI exits 2.
struct draw_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class format { svg, png, dot };

// The format an output file name asks for (.svg, .png, .dot or .gv); nullopt for anything else.
std::optional<format> format_of(const std::string& path);

// The bytes of the picture. Throws draw_error when Graphviz fails.
std::string render(const graph& g, format f);

// Renders in the format of the file's extension and writes the file. Throws draw_error for an
// unknown extension, a Graphviz failure or a file that cannot be written.
void write_picture(const graph& g, const std::string& path);

}  // namespace sdmc::viz
