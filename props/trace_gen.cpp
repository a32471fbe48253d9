#include "props/trace_gen.hpp"

#include <vector>

namespace sdmc::props {

using namespace trace;

namespace {

constexpr std::uint64_t page = 4096;
constexpr std::uint8_t prots[] = {PROT_R | PROT_W, PROT_R, PROT_NONE_, PROT_R | PROT_X,
                                  PROT_R | PROT_W | PROT_X};
constexpr Advice advices[] = {Advice::Normal,     Advice::Random,   Advice::Dontneed,
                              Advice::Pageout,    Advice::Free,     Advice::Sequential,
                              Advice::Willneed,   Advice::Remove,   Advice::Cold,
                              Advice::Dontfork,   Advice::Dofork,   Advice::Wipeonfork,
                              Advice::Keeponfork, Advice::Dontdump, Advice::Dodump,
                              Advice::Hugepage,   Advice::Nohugepage};

// A range inside the window: (first page, pages), shrinking towards page 0 and one page.
struct range {
  std::uint64_t addr, len;
};
rc::Gen<range> gen_range(const trace_gen_options& o) {
  return rc::gen::mapcat(rc::gen::inRange(1u, o.max_len + 1), [o](unsigned len) {
    return rc::gen::map(rc::gen::inRange(0u, o.pages - len + 1), [o, len](unsigned first) {
      return range{o.base + first * page, len * page};
    });
  });
}
rc::Gen<std::uint8_t> gen_prot() {
  return rc::gen::map(rc::gen::inRange<std::size_t>(0, std::size(prots)),
                      [](std::size_t i) { return prots[i]; });
}

Line line_of(Op op) {
  Line l;
  l.op = std::move(op);
  return l;
}

rc::Gen<Line> gen_mmap(const trace_gen_options& o, Sharing sharing, bool memfd) {
  return rc::gen::apply(
      [o, sharing, memfd](range r, std::uint8_t prot, unsigned file, unsigned offset) {
        Mmap m;
        m.addr = r.addr;
        m.len = r.len;
        m.prot = prot;
        m.sharing = sharing;
        m.fixed = true;
        if (memfd) m.file = FileRef{file ? "b" : "a", offset * page, false};
        return line_of(m);
      },
      gen_range(o), gen_prot(), rc::gen::inRange(0u, 2u), rc::gen::inRange(0u, o.pages));
}

rc::Gen<Line> gen_mremap(const trace_gen_options& o) {
  // A move to a fixed address, a resize in place, or a MREMAP_DONTUNMAP move: never a move
  // without `fixed`, whose destination only a `= ADDR` result could give.
  return rc::gen::apply(
      [o](range r, unsigned new_pages, unsigned dst, unsigned form) {
        Mremap m;
        m.old_addr = r.addr;
        m.old_len = r.len;
        m.new_len = new_pages * page;
        if (form == 0 || form == 2) {
          m.maymove = true;
          m.fixed = o.base + std::min<std::uint64_t>(dst, o.pages - new_pages) * page;
        }
        if (form == 2) {
          m.dontunmap = true;
          m.new_len = m.old_len;
          m.fixed = o.base + std::min<std::uint64_t>(dst, o.pages - r.len / page) * page;
        }
        return line_of(m);
      },
      gen_range(o), rc::gen::inRange(1u, o.max_len + 1), rc::gen::inRange(0u, o.pages),
      rc::gen::inRange(0u, 3u));
}

}  // namespace

rc::Gen<Line> gen_line(const trace_gen_options& o) {
  const line_weights& w = o.weights;
  std::vector<std::pair<std::size_t, rc::Gen<Line>>> alts;
  auto add = [&](unsigned weight, rc::Gen<Line> g) {
    if (weight) alts.emplace_back(weight, std::move(g));
  };
  // Order matters for shrinking: a line shrinks towards the kinds listed first.
  add(w.write, rc::gen::map(gen_range(o), [](range r) { return line_of(Write{r.addr, r.len}); }));
  add(w.clear_refs, rc::gen::just(line_of(ClearRefs{})));
  add(w.mmap, gen_mmap(o, Sharing::Private, false));
  add(w.read, rc::gen::map(gen_range(o), [](range r) { return line_of(Read{r.addr, r.len}); }));
  add(w.munmap, rc::gen::map(gen_range(o), [](range r) { return line_of(Munmap{r.addr, r.len}); }));
  add(w.mprotect, rc::gen::apply([](range r, std::uint8_t p) { return line_of(Mprotect{r.addr, r.len, p}); },
                                 gen_range(o), gen_prot()));
  add(w.mremap, gen_mremap(o));
  add(w.madvise, rc::gen::apply(
                     [](range r, std::size_t a) { return line_of(Madvise{r.addr, r.len, advices[a]}); },
                     gen_range(o), rc::gen::inRange<std::size_t>(0, std::size(advices))));
  add(w.mmap_shared, gen_mmap(o, Sharing::Shared, false));
  add(w.mmap_memfd, gen_mmap(o, Sharing::Shared, true));
  add(w.mmap_droppable, gen_mmap(o, Sharing::Droppable, false));
  add(w.reclaim, rc::gen::apply(
                     [](range r, bool all) {
                       Reclaim c;
                       if (!all) c.addr = r.addr, c.len = r.len;
                       return line_of(c);
                     },
                     gen_range(o), rc::gen::arbitrary<bool>()));
  add(w.fork, rc::gen::just(line_of(Fork{})));
  add(w.mlock, rc::gen::apply(
                   [](range r, bool lock) {
                     return lock ? line_of(Mlock{r.addr, r.len}) : line_of(Munlock{r.addr, r.len});
                   },
                   gen_range(o), rc::gen::arbitrary<bool>()));
  add(w.uffd_wp, rc::gen::map(gen_range(o), [](range r) { return line_of(UffdWp{r.addr, r.len}); }));
  // rc::gen::weightedOneOf takes an initializer_list; build the same from the vector.
  std::size_t total = 0;
  for (const auto& a : alts) total += a.first;
  // rc::gen::inRange narrows its range at small sizes; a line is drawn at the nominal size so
  // that every kind, page and protection is as likely in a short trace as in a long one.
  return rc::gen::resize(
      100, rc::gen::mapcat(rc::gen::inRange<std::size_t>(0, total), [alts](std::size_t pick) {
        for (const auto& a : alts) {
          if (pick < a.first) return a.second;
          pick -= a.first;
        }
        return alts.back().second;
      }));
}

rc::Gen<Trace> gen_trace(const trace_gen_options& o) {
  auto lines = rc::gen::scale(o.max_ops / 100.0,
                              rc::gen::container<std::vector<Line>>(gen_line(o)));
  rc::Gen<bool> swap = o.swap == trace_gen_options::swap_mode::either
                           ? rc::gen::arbitrary<bool>()
                           : rc::gen::just(o.swap == trace_gen_options::swap_mode::on);
  return rc::gen::apply(
      [](bool swap_on, std::vector<Line> ls) {
        Trace t;
        t.swap = swap_on;
        for (std::size_t i = 0; i < ls.size(); ++i) ls[i].lineno = int(i + 1);
        t.lines = std::move(ls);
        return t;
      },
      swap, lines);
}

std::size_t operation_count(const Trace& t) {
  std::size_t n = 0;
  for (const Line& l : t.lines)
    if (!std::holds_alternative<Epoch>(l.op) && !std::holds_alternative<Expect>(l.op)) ++n;
  return n;
}

}  // namespace sdmc::props

namespace sdmc::trace {
void showValue(const Trace& t, std::ostream& os) { os << "\n" << write(t); }
}  // namespace sdmc::trace
