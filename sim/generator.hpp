// The random trace generator shared by the benchmarks, the properties and kernel-diff.
// Deterministic: a seed reproduces the same trace on every machine (SplitMix64, no
// implementation-defined std distributions).
#pragma once

#include <cstdint>
#include <vector>

#include "traces/sdtrace.hpp"

namespace sdmc {

class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; the tiny bias is irrelevant here).
  std::uint64_t below(std::uint64_t n) { return std::uint64_t((__uint128_t(next()) * n) >> 64); }
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }

 private:
  std::uint64_t s_;
};

// Which operations to draw, by weight. The defaults are the benchmark mix of the model-core
// issue: 25% fixed mmap, 15% munmap, 10% mprotect, 45% write, 5% clear_refs.
struct op_weights {
  unsigned mmap = 25, munmap = 15, mprotect = 10, write = 45, clear_refs = 5;
  // brk is not generated: its OLD must equal the current break, which only replay knows.
  unsigned read = 0, madvise = 0, mremap = 0, mlock = 0, uffd_wp = 0, scan = 0, reclaim = 0,
           fork = 0, shmem_mmap = 0, epoch = 0;
  unsigned total() const {
    return mmap + munmap + mprotect + write + clear_refs + read + madvise + mremap + mlock +
           uffd_wp + scan + reclaim + fork + shmem_mmap + epoch;
  }
};

// Every operation the model knows (brk aside), the mix the check campaign and kernel-diff use
// so that operations interact.
inline op_weights every_op_weights() {
  op_weights w{15, 8, 10, 20, 6};
  w.read = 8;
  w.madvise = 8;
  w.mremap = 6;
  w.mlock = 4;
  w.uffd_wp = 3;
  w.scan = 3;
  w.reclaim = 3;
  w.shmem_mmap = 6;
  return w;
}

struct generator_options {
  std::uint64_t seed = 1;
  std::uint64_t base = 0x100000000;  // window start (bytes, page aligned)
  std::uint64_t pages = 256;         // window size
  std::uint64_t ops = 1000;
  std::uint64_t min_len = 1, max_len = 7;  // pages per operation
  bool swap = false;
  op_weights weights;
  unsigned droppable_eighths = 1;  // of the anonymous mmaps (`mmap`), how many eighths are droppable
  // Every uffd_wp says `remap`: the trace's context has UFFD_FEATURE_EVENT_REMAP (draws the
  // same numbers either way).
  bool uffd_remap = false;
};

// A mix for droppable memory and page-cache dirtiness: droppable and shmem mappings, stores
// through writable PTEs (read, then write), reclaim, munmap/dontneed zaps, hole punches.
generator_options droppable_mix(std::uint64_t seed, std::uint64_t ops, std::uint64_t pages);

// A trace of `ops` operations inside the window. Lines carry no `= RESULT`: replay computes
// them. Every op stays inside the window, so any two runs can be compared page by page.
trace::Trace generate_trace(const generator_options& opt);

}  // namespace sdmc
