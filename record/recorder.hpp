// One recording: the trace of one process image, from its execve to its exit or next execve.
// The session (session.hpp) feeds it the tracee's stops; this class turns them into sdtrace text
// and keeps the write tracking (wp_tracker) in step with the address space (layout).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "record/layout.hpp"
#include "record/mem_call.hpp"
#include "record/wp_tracker.hpp"

namespace sdmc::record {

struct recorder_stats {
  std::uint64_t calls = 0, harvests = 0, written_pages = 0, read_pages = 0, comments = 0;
  std::uint64_t raced_writes = 0;     // written pages no longer writable at the harvest
  std::uint64_t outside_pages = 0;    // pages present outside every recorded mapping
  std::uint64_t track_failures = 0;   // ranges userfaultfd refused to register
};

class recorder {
 public:
  // epoch_per_call: harvest everything before every memory call and end each such harvest with
  // an epoch (the design of issue 5 word for word), instead of harvesting just the pages the call
  // affects and writing epochs at the periodic harvests (the default: same stores and loads,
  // same order relative to every layout change of their pages, much cheaper; see session.hpp).
  recorder(std::string command, std::string kernel, unsigned interval_ms, bool epoch_per_call);

  // At the execve exit stop of `pid`, with `uffd` a userfaultfd created inside the process (the
  // session runs the system call there) and now ours: writes the prologue (the mappings exec
  // made, from /proc/PID/maps) and write-protects the writable ones. False with `error` set when
  // async write-protect or PAGEMAP_SCAN is not available.
  bool start(pid_t pid, int uffd, std::string& error);
  // Before a memory system call of thread `tid` runs (its seccomp stop): harvest the pages it can
  // affect, so their stores and loads come before it. Until after_call, other harvests leave
  // those pages alone: a zap in flight leaves page-table entries without uffd-wp markers, which
  // PAGEMAP_SCAN reports as written (fs/proc/task_mmu.c:pagemap_page_category, pte_none).
  void before_call(int tid, const mem_call& c);
  // After it ran (its exit stop): the operation line, then the address-space bookkeeping.
  void after_call(int tid, const mem_call& c);
  // Thread `tid` died inside a call.
  void abandon(int tid) { in_flight_.erase(tid); }
  // The recorded process forked (a child with its own copy of the address space).
  void on_fork();
  // Harvest every tracked page, then `epoch`: periodically (--interval), before a fork, an
  // execve and at exit.
  void harvest();
  // Ends the trace; `why` goes into the closing comment. Later calls are ignored.
  void finish(const std::string& why);

  bool started() const { return started_; }
  bool finished() const { return finished_; }
  // The whole trace text (header, prologue, body, end).
  std::string text() const { return header_ + body_; }
  const recorder_stats& stats() const { return stats_; }

 private:
  void comment(const std::string& s);
  void emit(const trace::Line& l);
  void track(std::uint64_t start, std::uint64_t end);
  void reprotect(std::uint64_t start, std::uint64_t end);
  void forget_present(std::uint64_t start, std::uint64_t end);
  void prologue(pid_t pid);
  // Scans the registered parts of [start, end) (and, when `untracked`, the present pages of the
  // rest of the address space) and writes the loads and stores found.
  void collect(std::uint64_t start, std::uint64_t end, bool untracked);
  void emit_accesses(const page_set& present, const page_set& written);

  std::string header_, body_;
  bool started_ = false, finished_ = false, epoch_per_call_ = false;
  bool mm_gone_ = false;  // the recorded address space no longer exists (exit in progress)
  pid_t pid_ = 0;
  translator translate_;
  layout layout_;
  page_set known_present_;  // page numbers the trace already shows present
  std::map<int, std::vector<range>> in_flight_;  // pages of calls between their two stops
  wp_tracker wp_;
  recorder_stats stats_;
};

// Argument count of a memory call, for comments.
unsigned nargs_of(mem_sys s);

}  // namespace sdmc::record
