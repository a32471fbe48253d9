// The bounded exhaustive model checker (issue 3, "The model checker"): breadth-first search
// over every operation sequence inside a small window of pages, each distinct state expanded
// once, the oracle's soundness property and the invariants checked at every state.
//
// It runs the same rules as the model. With the model engine (the default) every transition is
// sim/kernel.hpp's system call on a kernel decoded from the state's canonical key
// (sim/state_codec.hpp); the compact engine (sim/compact/rules.hpp) restates those rules on a
// fixed-size state for what it covers, is held to the model's results by tests and by
// --cross-check, and hands every failing state to the model for the verdict. Operations are
// trace::Line values, so the path to a state is a trace, and breadth-first order makes the
// first path to a violating state a shortest one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/mutant.hpp"
#include "model/policy.hpp"
#include "sim/kernel.hpp"
#include "sim/state_check.hpp"
#include "sim/oracle.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {


// How the explorer holds its states: the model's canonical keys decoded into a kernel for
// every expansion (every operation, every design), or the compact engine's fixed-size state
// (sim/compact/rules.hpp: private anonymous memory in at most 8 pages, the designs without
// per-page state beside the VMA; it refuses anything else, naming it).
enum class explore_engine { model, compact };

struct explore_options {
  std::uint64_t base = 0x100000000;  // window start (bytes, 2 MiB aligned)
  unsigned pages = 3;                // window size, 1..16
  unsigned depth = 5;                // operations per sequence at most
  std::string ops;                   // the alphabet, see parse_ops; empty = default_ops
  mutant bug = mutant::none;         // switched into the initial state (mm.bug)
  droppable_design droppable = droppable_design::swapbacked;  // mm.droppable (model/droppable.hpp)
  bool swap = true;                  // a swap device exists (`swap on`)
  std::uint64_t max_states = 0;      // stop after this many distinct states (0: no limit)
  // Under the baseline (upstream-6.12) a false negative or lost new mapping is a finding of
  // the design, reported with its trace while the search goes on; elsewhere a violation.
  bool soundness_is_finding = false;
  // Precision: no page reads soft-dirty that was neither stored to nor newly mapped since the
  // last clear_refs: a violation "false positive". The kernel-mandated false positives of
  // props/properties.hpp come from mlock (not in the alphabet) and, for uffd-wp, from zaps:
  // precision is refused for designs that emulate soft-dirty with uffd-wp.
  bool precision = false;
  state_check extra_check;           // a failure is a violation under every policy
  explore_engine engine = explore_engine::model;
  // With the compact engine: the model runs every transition too and must reach the same
  // state, and judges every new state the same (std::logic_error otherwise).
  bool cross_check = false;
};

// The operation families --ops takes (comma-separated), with what each expands to.
struct op_family {
  std::string_view name;
  std::string_view what;
};
const std::vector<op_family>& op_families();
inline constexpr std::string_view default_ops =
    "mmap,munmap,mprotect,mremap,madvise,write,read,clear_refs,fork,uffd_wp,reclaim";
// Every family the compact engine covers (sim/compact/) on private anonymous memory alone (the
// ground of sdmc check's deeper search)...
inline constexpr std::string_view compact_anon_ops =
    "mmap_anon,munmap,mprotect,mprotect_none,mremap,madvise,random,normal,write,read,clear_refs,fork,"
    "uffd_wp,reclaim";
// ... and with memory files (shared anonymous and memfd mappings): every family it covers.
inline constexpr std::string_view compact_ops =
    "mmap_anon,mmap_shared,mmap_memfd,munmap,mprotect,mprotect_none,mremap,madvise,random,normal,write,read,"
    "clear_refs,fork,uffd_wp,reclaim";

// The alphabet: every operation of the named families at every page-aligned (start, len)
// inside the window, in a fixed order. Throws std::invalid_argument naming a bad family or
// window.
std::vector<trace::Line> make_alphabet(const explore_options& opt);

// One state that breaks the property, and the shortest path found to it.
struct explore_counterexample {
  std::string what;                  // "false negative", "lost new mapping", "invariant: ..."
  std::string detail;                // the pages, or the check's message
  std::vector<trace::Line> ops;      // from the initial state; ops.size() is the depth
};

struct explore_progress {
  unsigned depth = 0;                // the level being expanded
  std::uint64_t states = 0, transitions = 0, frontier = 0, expanded = 0;
  double seconds = 0;
};

struct explore_result {
  std::uint64_t states = 0;          // distinct states (the initial one included)
  std::uint64_t transitions = 0;     // operations applied
  std::uint64_t self_loops = 0;      // ... of which led back to the state they were applied in
  std::vector<std::uint64_t> states_at_depth;  // new distinct states per depth
  unsigned depth_done = 0;           // every state up to this depth was generated and checked
  bool complete = false;             // the whole bound was explored (no violation, no max_states)
  double seconds = 0;                // wall clock
  double cpu_seconds = 0;            // this thread's CPU time (the machine may be shared)
  std::size_t alphabet = 0;          // operations per state
  std::size_t key_bytes_max = 0;     // longest canonical key seen
  std::optional<explore_counterexample> violation;  // stops the search
  // Under soundness_is_finding: the first (shortest) state of each class, and how many
  // distinct states had one.
  std::optional<explore_counterexample> false_negative, lost_new_mapping;
  std::uint64_t finding_states = 0;
};

// A property a state fails, as the explorer reports it: "invariant", "false negative", "lost
// new mapping", "false positive", "PAGE_IS_WRITTEN false negative"; and where.
struct state_failure {
  std::string what, detail;
};
// Every property the state (k, o) fails under `opt`, in the order the search reports them.
std::vector<state_failure> state_failures(const policy& pol, const explore_options& opt,
                                          const kernel& k, const oracle& o);

// `--engine auto`: the compact engine where it covers the search (the same states,
// transitions and reports: tests/compact_engine_test.cpp), else the model engine, with the
// reason in `why` (when given).
explore_engine auto_engine(const policy& pol, const explore_options& opt, const std::vector<trace::Line>& alphabet,
                           std::string* why = nullptr);

// Runs the search. `progress` (optional) is called about every `progress_every`.
explore_result explore(const policy& pol, const explore_options& opt,
                       const std::function<void(const explore_progress&)>& progress = {},
                       std::chrono::milliseconds progress_every = std::chrono::seconds(1));

// The counterexample as a trace: `swap` header, each operation with the `= RESULT` the model
// computes, so that `sdmc replay` checks every step.
trace::Trace counterexample_trace(const policy& pol, const explore_options& opt,
                                  const std::vector<trace::Line>& ops);

// Applies one alphabet operation to a kernel, as sim/replay.cpp executes trace lines.
Result apply_op(kernel& k, const trace::Line& line);

}  // namespace sdmc
