#include "sim/generator.hpp"

namespace sdmc {

using namespace trace;

trace::Trace generate_trace(const generator_options& o) {
  splitmix64 rng(o.seed);
  Trace t;
  t.swap = o.swap;
  t.lines.reserve(o.ops);
  const op_weights& w = o.weights;
  const unsigned total = w.total();
  static constexpr std::uint8_t prots[] = {0, PROT_R, PROT_R | PROT_W, PROT_R | PROT_X,
                                           PROT_R | PROT_W | PROT_X};
  static constexpr Advice advices[] = {Advice::Dontneed, Advice::Free,       Advice::Random,
                                       Advice::Normal,   Advice::Nohugepage, Advice::Hugepage,
                                       Advice::Pageout,  Advice::Dontfork,   Advice::Wipeonfork};
  for (std::uint64_t i = 0; i < o.ops; ++i) {
    std::uint64_t len = rng.between(o.min_len, std::min(o.max_len, o.pages));
    std::uint64_t first = rng.below(o.pages - len + 1);
    std::uint64_t addr = o.base + first * 4096, bytes = len * 4096;
    unsigned pick = unsigned(rng.below(total));
    auto take = [&](unsigned weight) {
      if (pick < weight) return true;
      pick -= weight;
      return false;
    };
    Line l;
    l.lineno = int(i + 1);
    if (take(w.mmap)) {
      Mmap m;
      m.addr = addr;
      m.len = bytes;
      m.prot = prots[rng.below(5)];
      m.sharing = rng.below(8) < o.droppable_eighths ? Sharing::Droppable : Sharing::Private;
      m.fixed = true;
      l.op = m;
    } else if (take(w.munmap)) {
      l.op = Munmap{addr, bytes};
    } else if (take(w.mprotect)) {
      l.op = Mprotect{addr, bytes, prots[rng.below(5)]};
    } else if (take(w.write)) {
      l.op = Write{addr, bytes};
    } else if (take(w.clear_refs)) {
      l.op = ClearRefs{};
    } else if (take(w.read)) {
      l.op = Read{addr, bytes};
    } else if (take(w.madvise)) {
      l.op = Madvise{addr, bytes, advices[rng.below(std::size(advices))]};
    } else if (take(w.mremap)) {
      Mremap m;
      m.old_addr = addr;
      m.old_len = bytes;
      m.new_len = rng.between(1, o.max_len) * 4096;
      m.maymove = true;
      std::uint64_t dst = rng.below(o.pages - m.new_len / 4096 + 1);
      m.fixed = o.base + dst * 4096;
      l.op = m;
    } else if (take(w.mlock)) {
      if (rng.below(2)) l.op = Mlock{addr, bytes};
      else l.op = Munlock{addr, bytes};
    } else if (take(w.uffd_wp)) {
      l.op = UffdWp{addr, bytes, o.uffd_remap};
    } else if (take(w.scan)) {
      Scan s;
      s.addr = addr;
      s.len = bytes;
      s.wp = rng.below(2);
      l.op = s;
    } else if (take(w.reclaim)) {
      l.op = Reclaim{addr, bytes};
    } else if (take(w.fork)) {
      l.op = Fork{};
    } else if (take(w.shmem_mmap)) {
      Mmap m;
      m.addr = addr;
      m.len = bytes;
      m.prot = prots[rng.below(5)];
      m.sharing = Sharing::Shared;
      m.fixed = true;
      m.file = FileRef{rng.below(2) ? "a" : "b", first * 4096, false};
      l.op = m;
    } else {
      l.op = Epoch{};
    }
    t.lines.push_back(std::move(l));
  }
  return t;
}

generator_options droppable_mix(std::uint64_t seed, std::uint64_t ops, std::uint64_t pages) {
  generator_options o;
  o.seed = seed;
  o.ops = ops;
  o.pages = pages;
  o.max_len = 4;
  o.droppable_eighths = 4;
  o.weights = op_weights{12, 6, 4, 20, 6};
  o.weights.read = 12;
  o.weights.madvise = 6;
  o.weights.mremap = 3;
  o.weights.reclaim = 12;
  o.weights.shmem_mmap = 12;
  o.weights.fork = 2;
  o.weights.epoch = 5;
  return o;
}

}  // namespace sdmc
