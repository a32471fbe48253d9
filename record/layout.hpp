// The recorder's shadow of the recorded address space: which ranges are mapped, with what
// protection, whether userfaultfd may write-protect them and whether they are, and which pages
// the trace already shows present. It follows the calls' real results, so it needs no kernel rules
// beyond where a mapping begins and ends.
#pragma once

#include <boost/icl/interval_set.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sdmc::record {

struct segment {
  std::uint64_t end = 0;
  std::uint8_t prot = 0;     // trace::PROT_R|W|X
  bool registrable = false;  // anonymous, memfd or regular file: uffd-wp async accepts it
  bool registered = false;   // registered with our userfaultfd and write-protected
  bool stack = false;        // the main thread's [stack]: grows down on faults
  bool special = false;      // [vdso], [vvar], ...: not in the trace, never read or written
};

struct range {
  std::uint64_t start = 0, end = 0;
  bool operator==(const range&) const = default;
};

class layout {
 public:
  // [start, end) now holds `s` (what was there is replaced, as mmap MAP_FIXED does).
  void map(std::uint64_t start, std::uint64_t end, segment s);
  void unmap(std::uint64_t start, std::uint64_t end);
  // Every mapped part of [start, end) gets `prot`.
  void protect(std::uint64_t start, std::uint64_t end, std::uint8_t prot);
  // mremap: [old, old+old_len) now lives at [to, to+new_len); growth extends the last segment.
  void move(std::uint64_t old, std::uint64_t old_len, std::uint64_t to, std::uint64_t new_len,
            bool dontunmap);
  void set_registered(std::uint64_t start, std::uint64_t end, bool on);

  // The segment holding addr, and where it starts.
  std::optional<std::pair<std::uint64_t, segment>> find(std::uint64_t addr) const;
  // Writable, registrable parts of [start, end) not registered yet.
  std::vector<range> to_register(std::uint64_t start, std::uint64_t end) const;
  // Registered parts of [start, end).
  std::vector<range> registered(std::uint64_t start, std::uint64_t end) const;
  // Maximal runs of registered segments, plus the gap below the stack into which it can grow
  // (so that a scan over each run sees every page uffd-wp tracks, and nothing else).
  std::vector<range> scan_ranges() const;
  // The lowest address the stack could have grown down to: the end of the mapping below it.
  std::optional<range> stack_window() const;
  // The stack grew down to `new_start` (a fault below it, mm/mmap.c:expand_downwards).
  void grow_stack(std::uint64_t new_start);

  const std::map<std::uint64_t, segment>& segments() const { return segs_; }

 private:
  void split_at(std::uint64_t addr);
  std::map<std::uint64_t, segment> segs_;  // by start; never overlapping
};

// Pages (page frame numbers of user addresses) the trace already shows present.
using page_set = boost::icl::interval_set<std::uint64_t>;

}  // namespace sdmc::record
