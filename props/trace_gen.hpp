// RapidCheck generators of sdtrace traces inside a small window of pages, so that RapidCheck
// shrinks a counterexample to a short list of operations over few pages.
//
// Unlike sim/generator.hpp (a deterministic stream for benchmarks and kernel-diff), the
// traces here are built from rc::gen combinators: a failing trace shrinks by dropping lines,
// then by moving each line's page numbers, lengths and protections towards 0. Every line
// carries no `= RESULT`: replay computes it. A trace's text (trace::write) is how RapidCheck
// shows it, so a counterexample prints as a replayable sdtrace file.
#pragma once

#include <cstdint>
#include <ostream>

#include <rapidcheck.h>

#include "traces/sdtrace.hpp"

namespace sdmc::props {

// Relative weights of the kinds of lines (0: never drawn).
struct line_weights {
  unsigned mmap = 6, mmap_shared = 2, mmap_memfd = 2, mmap_droppable = 1, munmap = 3,
           mprotect = 5, mremap = 4, madvise = 4, mlock = 1, write = 8, read = 4,
           clear_refs = 5, fork = 1, reclaim = 2, uffd_wp = 1;
};

struct trace_gen_options {
  std::uint64_t base = 0x100000000;  // window start (2 MiB aligned)
  unsigned pages = 8;                // window size in pages
  unsigned max_len = 4;              // pages per operation
  unsigned max_ops = 24;             // lines per trace at RapidCheck's largest size
  enum class swap_mode { off, on, either } swap = swap_mode::either;
  line_weights weights;
};

rc::Gen<trace::Line> gen_line(const trace_gen_options& o);
rc::Gen<trace::Trace> gen_trace(const trace_gen_options& o);

// The number of operations of a trace (lines other than `epoch` and `expect`).
std::size_t operation_count(const trace::Trace& t);

}  // namespace sdmc::props

namespace sdmc::trace {
// How RapidCheck shows a trace: its sdtrace text.
void showValue(const Trace& t, std::ostream& os);
}  // namespace sdmc::trace
