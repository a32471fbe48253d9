// A trace parsed on a second thread while its lines are consumed on the calling one: for long
// traces (a million lines) `sdmc replay` then costs about the larger of parsing and replaying,
// not their sum, and never holds more than a few batches of lines in memory.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "traces/sdtrace.hpp"

namespace sdmc::trace {

// Calls consume(headers, lines) for each batch of at most `batch` operation lines of `text`,
// in order, on the calling thread; `headers` is the trace's path, kernel and swap (no lines).
// A ParseError is rethrown after every line before the bad one was consumed (so a consumer
// may have seen part of the trace); an exception from consume stops the parser and propagates.
void parse_streamed(std::string_view text, const std::string& filename, std::size_t batch,
                    const std::function<void(const Trace& headers, const std::vector<Line>& lines)>& consume);

}  // namespace sdmc::trace
