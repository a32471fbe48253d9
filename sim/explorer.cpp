#include "sim/explorer.hpp"

#include <algorithm>
#include <array>
#include <sstream>
#include <stdexcept>
#include <ctime>

#include <fmt/format.h>

#include "sim/compact/rules.hpp"
#include "sim/fingerprint_set.hpp"
#include "sim/huge_region.hpp"
#include "sim/invariants.hpp"
#include "sim/replay.hpp"
#include "sim/state_codec.hpp"

namespace sdmc {

using namespace trace;

namespace {

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

template <class... Ts> struct overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> overloaded(Ts...) -> overloaded<Ts...>;

// The leaves of the alphabet, in the order the alphabet lists them.
enum leaf : unsigned {
  MMAP_ANON_RW, MMAP_ANON_R, MMAP_SHARED_RW, MMAP_SHARED_R, MMAP_MEMFD_RW, MMAP_MEMFD_R,
  MMAP_DROPPABLE_RW, MUNMAP, MPROTECT_RW, MPROTECT_R, MPROTECT_NONE, MREMAP_MOVE, MREMAP_GROW, MREMAP_SHRINK,
  DONTNEED, PAGEOUT, RANDOM, NORMAL, WRITE, READ, CLEAR_REFS, FORK, UFFD_WP, RECLAIM, NLEAVES
};

struct family_def {
  op_family f;
  std::vector<leaf> leaves;
};

const std::vector<family_def>& families() {
  static const std::vector<family_def> defs = {
      {{"mmap", "mmap_anon, mmap_shared and mmap_memfd"},
       {MMAP_ANON_RW, MMAP_ANON_R, MMAP_SHARED_RW, MMAP_SHARED_R, MMAP_MEMFD_RW, MMAP_MEMFD_R}},
      {{"mmap_anon", "fixed private anonymous mmap, rw- and r--"}, {MMAP_ANON_RW, MMAP_ANON_R}},
      {{"mmap_anon_rw", "fixed private anonymous mmap, rw-"}, {MMAP_ANON_RW}},
      {{"mmap_anon_r", "fixed private anonymous mmap, r--"}, {MMAP_ANON_R}},
      {{"mmap_shared", "fixed shared anonymous mmap, rw- and r--"}, {MMAP_SHARED_RW, MMAP_SHARED_R}},
      {{"mmap_shared_rw", "fixed shared anonymous mmap, rw-"}, {MMAP_SHARED_RW}},
      {{"mmap_shared_r", "fixed shared anonymous mmap, r--"}, {MMAP_SHARED_R}},
      {{"mmap_memfd", "fixed shared mmap of the memfd `m` at the page's own offset, rw- and r--"},
       {MMAP_MEMFD_RW, MMAP_MEMFD_R}},
      {{"mmap_memfd_rw", "fixed shared mmap of the memfd `m`, rw-"}, {MMAP_MEMFD_RW}},
      {{"mmap_memfd_r", "fixed shared mmap of the memfd `m`, r--"}, {MMAP_MEMFD_R}},
      {{"mmap_droppable", "fixed MAP_DROPPABLE mmap, rw- (not in `mmap`)"}, {MMAP_DROPPABLE_RW}},
      {{"munmap", "munmap"}, {MUNMAP}},
      {{"mprotect", "mprotect to rw- and to r--"}, {MPROTECT_RW, MPROTECT_R}},
      {{"mprotect_rw", "mprotect to rw-"}, {MPROTECT_RW}},
      {{"mprotect_r", "mprotect to r--"}, {MPROTECT_R}},
      {{"mprotect_none", "mprotect to ---"}, {MPROTECT_NONE}},
      {{"mremap", "mremap_move, mremap_grow and mremap_shrink"},
       {MREMAP_MOVE, MREMAP_GROW, MREMAP_SHRINK}},
      {{"mremap_move", "mremap maymove fixed to every non-overlapping start, same length"}, {MREMAP_MOVE}},
      {{"mremap_grow", "mremap in place to every longer length"}, {MREMAP_GROW}},
      {{"mremap_shrink", "mremap in place to every shorter length"}, {MREMAP_SHRINK}},
      {{"madvise", "dontneed and pageout"}, {DONTNEED, PAGEOUT}},
      {{"dontneed", "madvise MADV_DONTNEED"}, {DONTNEED}},
      {{"pageout", "madvise MADV_PAGEOUT"}, {PAGEOUT}},
      {{"random", "madvise MADV_RANDOM (a VMA flag change that merges)"}, {RANDOM}},
      {{"normal", "madvise MADV_NORMAL (a VMA flag change that merges)"}, {NORMAL}},
      {{"write", "a store to every page of the range"}, {WRITE}},
      {{"read", "a load from every page of the range"}, {READ}},
      {{"clear_refs", "echo 4 > clear_refs (once per state, no range)"}, {CLEAR_REFS}},
      {{"fork", "fork (once per state)"}, {FORK}},
      {{"uffd_wp", "userfaultfd write-protect registration of the range"}, {UFFD_WP}},
      {{"reclaim", "reclaim of every mapping (once per state)"}, {RECLAIM}},
  };
  return defs;
}

std::array<bool, NLEAVES> parse_ops(std::string_view list) {
  std::array<bool, NLEAVES> on{};
  std::size_t at = 0;
  bool any = false;
  while (at <= list.size()) {
    std::size_t comma = list.find(',', at);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view name = list.substr(at, comma - at);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) {
      auto it = std::find_if(families().begin(), families().end(),
                             [&](const family_def& d) { return d.f.name == name; });
      if (it == families().end()) {
        std::string known;
        for (const family_def& d : families()) known += (known.empty() ? "" : ", ") + std::string(d.f.name);
        throw std::invalid_argument("--ops: unknown operation family '" + std::string(name) +
                                    "' at position " + std::to_string(at + 1) + " (known: " + known + ")");
      }
      for (leaf l : it->leaves) on[l] = true;
      any = true;
    }
    at = comma + 1;
  }
  if (!any) throw std::invalid_argument("--ops: no operation family given");
  return on;
}

Line line(Op op) {
  Line l;
  l.op = std::move(op);
  return l;
}

std::string page_list(const pset& s, const state_window& w) {
  std::ostringstream os;
  bool first = true;
  for (const prange& iv : s) {
    os << (first ? "" : ", ");
    first = false;
    if (iv.lower() < w.base || iv.upper() > w.base + w.pages) {
      // Outside the window (an unmapped gap reads soft-dirty): absolute addresses.
      os << "[0x" << std::hex << pfn_to_addr(iv.lower()) << ", 0x" << pfn_to_addr(iv.upper())
         << std::dec << ") outside the window";
      continue;
    }
    if (iv.upper() - iv.lower() == 1) os << "page " << iv.lower() - w.base;
    else os << "pages " << iv.lower() - w.base << "-" << iv.upper() - 1 - w.base;
    os << " (0x" << std::hex << pfn_to_addr(iv.lower()) << std::dec << ")";
  }
  return os.str();
}

// The keys of one breadth-first level, back to back.
struct level_keys {
  std::string bytes;
  std::vector<std::size_t> ends;
  void add(std::string_view k) {
    bytes += k;
    ends.push_back(bytes.size());
  }
  std::string_view at(std::size_t i) const {
    std::size_t b = i ? ends[i - 1] : 0;
    return std::string_view(bytes).substr(b, ends[i] - b);
  }
  std::size_t size() const { return ends.size(); }
  void clear() {
    bytes.clear();
    ends.clear();
  }
};

// The initial state's configuration (the state key carries it on, sim/state_codec.cpp).
void configure(kernel& k, const explore_options& opt) {
  k.mm.bug = opt.bug;
  k.mm.droppable = opt.droppable;
}

// Every property a state fails, in the order they are reported: the structural invariants
// (sim/invariants.hpp, which include "nothing outside a VMA reads soft-dirty" and, for the
// designs that promise it, the write-tracking rule; then opt.extra_check), false negative,
// lost new mapping (for designs with a per-mapping signal), false positive (when asked for)
// and PAGE_IS_WRITTEN false negative.
std::vector<state_failure> failures(const policy& pol, const explore_options& opt,
                                    const state_window& w, const kernel& k, const oracle& o) {
  std::vector<state_failure> out;
  std::optional<std::string> bad = check_invariants(k);
  if (!bad && opt.extra_check) bad = opt.extra_check(k, o);
  if (bad) out.push_back({"invariant", *bad});
  judgement j = o.judge_sd(k);
  // A design without a per-mapping signal (uffd-wp) loses new mappings by design.
  if (!pol.signals_new_mappings()) j.lost_new_mappings.clear();
  if (!j.false_negatives.empty()) out.push_back({"false negative", page_list(j.false_negatives, w)});
  if (!j.lost_new_mappings.empty()) out.push_back({"lost new mapping", page_list(j.lost_new_mappings, w)});
  if (opt.precision && !j.false_positives.empty())
    out.push_back({"false positive", page_list(j.false_positives, w)});
  // The write-protect mechanism beside it, under every design: no page stored to since its
  // uffd-wp reset reads PAGE_IS_WRITTEN clear (oracle::judge_written).
  if (o.wp_tracking()) {
    const judgement wj = o.judge_written(k);
    if (!wj.false_negatives.empty())
      out.push_back({"PAGE_IS_WRITTEN false negative", page_list(wj.false_negatives, w)});
  }
  return out;
}

bool is_soundness(const state_failure& f) { return f.what == "false negative" || f.what == "lost new mapping"; }

// A counterexample must reproduce from the initial state by the model alone, without going
// through keys: a canonical encoding that dropped something the rules read would show here.
void verify(const policy& pol, const explore_options& opt, const state_window& w,
            const explore_counterexample& c) {
  kernel k(pol, opt.swap);
  configure(k, opt);
  oracle o;
  k.obs = &o;
  for (const Line& l : c.ops) apply_op(k, l);
  const std::vector<state_failure> f = failures(pol, opt, w, k, o);
  if (std::none_of(f.begin(), f.end(), [&](const state_failure& x) { return x.what == c.what; }))
    throw std::logic_error("explorer: the " + c.what + " found after " + std::to_string(c.ops.size()) +
                           " operations does not reproduce from the initial state (the state "
                           "encoding lost something the rules read)");
}

}  // namespace

std::vector<state_failure> state_failures(const policy& pol, const explore_options& opt,
                                          const kernel& k, const oracle& o) {
  return failures(pol, opt, state_window{addr_to_pfn(opt.base), opt.pages}, k, o);
}

const std::vector<op_family>& op_families() {
  static const std::vector<op_family> out = [] {
    std::vector<op_family> v;
    for (const family_def& d : families()) v.push_back(d.f);
    return v;
  }();
  return out;
}

std::vector<Line> make_alphabet(const explore_options& opt) {
  if (opt.pages < 1 || opt.pages > 16)
    throw std::invalid_argument("--pages: the window must have 1 to 16 pages, not " +
                                std::to_string(opt.pages));
  if (opt.base % (PTRS_PER_PTE * PAGE_SIZE) != 0 || opt.base >= TASK_SIZE / 2)
    throw std::invalid_argument("the window base must be 2 MiB aligned and low in the address space");
  const std::array<bool, NLEAVES> on = parse_ops(opt.ops.empty() ? default_ops : opt.ops);
  const unsigned n = opt.pages;
  auto addr = [&](unsigned page) { return opt.base + std::uint64_t(page) * PAGE_SIZE; };
  auto bytes = [](unsigned pages) { return std::uint64_t(pages) * PAGE_SIZE; };
  std::vector<Line> out;
  for (unsigned l = 0; l < NLEAVES; ++l) {
    if (!on[l]) continue;
    const leaf lf = leaf(l);
    if (lf == CLEAR_REFS) { out.push_back(line(ClearRefs{})); continue; }
    if (lf == FORK) { out.push_back(line(Fork{})); continue; }
    if (lf == RECLAIM) { out.push_back(line(Reclaim{})); continue; }
    for (unsigned s = 0; s < n; ++s) {
      for (unsigned len = 1; s + len <= n; ++len) {
        const std::uint64_t a = addr(s), b = bytes(len);
        switch (lf) {
          case MMAP_ANON_RW: case MMAP_ANON_R: case MMAP_SHARED_RW: case MMAP_SHARED_R:
          case MMAP_MEMFD_RW: case MMAP_MEMFD_R: case MMAP_DROPPABLE_RW: {
            Mmap m;
            m.addr = a;
            m.len = b;
            m.fixed = true;
            m.prot = (lf == MMAP_ANON_RW || lf == MMAP_SHARED_RW || lf == MMAP_MEMFD_RW ||
                      lf == MMAP_DROPPABLE_RW)
                         ? PROT_R | PROT_W : PROT_R;
            m.sharing = (lf == MMAP_ANON_RW || lf == MMAP_ANON_R)   ? Sharing::Private
                        : lf == MMAP_DROPPABLE_RW                  ? Sharing::Droppable
                                                                   : Sharing::Shared;
            // The memfd at the page's own offset: neighbouring mappings are linear in pgoff
            // and can merge, as in the semantics' sequences B' and C.
            if (lf == MMAP_MEMFD_RW || lf == MMAP_MEMFD_R) m.file = FileRef{"m", bytes(s), false};
            out.push_back(line(m));
            break;
          }
          case MUNMAP: out.push_back(line(Munmap{a, b})); break;
          case MPROTECT_RW: out.push_back(line(Mprotect{a, b, PROT_R | PROT_W})); break;
          case MPROTECT_R: out.push_back(line(Mprotect{a, b, PROT_R})); break;
          case MPROTECT_NONE: out.push_back(line(Mprotect{a, b, PROT_NONE_})); break;
          case MREMAP_MOVE:
            // mremap_to refuses overlapping ranges (-EINVAL): those are left out.
            for (unsigned t = 0; t + len <= n; ++t) {
              if (t < s + len && s < t + len) continue;
              Mremap r;
              r.old_addr = a;
              r.old_len = r.new_len = b;
              r.maymove = true;
              r.fixed = addr(t);
              out.push_back(line(r));
            }
            break;
          case MREMAP_GROW:
            for (unsigned nl = len + 1; s + nl <= n; ++nl) out.push_back(line(Mremap{a, b, bytes(nl), false, std::nullopt, false}));
            break;
          case MREMAP_SHRINK:
            for (unsigned nl = 1; nl < len; ++nl) out.push_back(line(Mremap{a, b, bytes(nl), false, std::nullopt, false}));
            break;
          case DONTNEED: out.push_back(line(Madvise{a, b, Advice::Dontneed})); break;
          case PAGEOUT: out.push_back(line(Madvise{a, b, Advice::Pageout})); break;
          case RANDOM: out.push_back(line(Madvise{a, b, Advice::Random})); break;
          case NORMAL: out.push_back(line(Madvise{a, b, Advice::Normal})); break;
          case WRITE: out.push_back(line(Write{a, b})); break;
          case READ: out.push_back(line(Read{a, b})); break;
          case UFFD_WP: out.push_back(line(UffdWp{a, b})); break;
          default: break;
        }
      }
    }
  }
  if (out.size() > 65535) throw std::invalid_argument("the alphabet has more than 65,535 operations");
  return out;
}

Result apply_op(kernel& k, const Line& l) {
  return std::visit(
      overloaded{
          [&](const Mmap& o) { return k.sys_mmap(o); },
          [&](const Munmap& o) { return k.sys_munmap(o.addr, o.len); },
          [&](const Mprotect& o) { return k.sys_mprotect(o.addr, o.len, o.prot); },
          [&](const Mremap& o) { return k.sys_mremap(o, std::nullopt); },
          [&](const Madvise& o) { return k.sys_madvise(o.addr, o.len, o.advice); },
          [&](const Write& o) { return k.access(o.addr, o.len, true); },
          [&](const Read& o) { return k.access(o.addr, o.len, false); },
          [&](const ClearRefs&) { return k.clear_refs(); },
          [&](const UffdWp& o) { return k.uffd_wp(o.addr, o.len, o.remap); },
          [&](const Reclaim& o) { return k.reclaim(o.addr, o.len); },
          [&](const Fork&) { return k.fork(); },
          [&](const Mlock& o) { return k.sys_mlock(o.addr, o.len, true); },
          [&](const Munlock& o) { return k.sys_mlock(o.addr, o.len, false); },
          [&](const Scan& o) { return k.pagemap_scan(o); },
          [&](const Brk& o) { return k.sys_brk(o.old_brk, o.new_brk); },
          [&](const auto&) { return Result{}; },
      },
      l.op);
}

namespace {

// The two ways of holding the explorer's states. An engine has a `slot` for a child being
// built, a `frontier` of states still to expand (made by make_frontier()), and: initial(slot),
// load(frontier, i) (the parent and its fingerprint `self`), child(slot, a) (the parent,
// operation a applied), fingerprint_of(slot), failures(slot), keep(slot, frontier) and
// key_bytes(slot).

// The model itself: every state a canonical key (sim/state_codec.hpp) decoded into a kernel.
struct model_engine {
  const policy& pol;
  const explore_options& opt;
  const state_window& w;
  const std::vector<Line>& alphabet;
  struct slot {
    std::optional<kernel> k;
    std::optional<oracle> o;
    std::vector<char> buf;
    std::string_view key;  // in buf
  };
  using frontier = level_keys;
  static frontier make_frontier() { return {}; }
  static constexpr std::size_t lookahead = 4;  // a child is a whole kernel: few in flight
  std::optional<kernel> pk{};
  std::optional<oracle> po{};
  fingerprint128 self{};

  fingerprint128 initial(slot& c) {
    c.k.emplace(pol, opt.swap);
    configure(*c.k, opt);
    c.o.emplace();
    c.key = encode_state(*c.k, *c.o, w, c.buf);
    return fingerprint(c.key);
  }
  void load(const frontier& f, std::size_t i) {
    pk.emplace(pol, opt.swap);
    po.emplace();
    decode_state(f.at(i), w, *pk, *po);
    self = fingerprint(f.at(i));
  }
  void child(slot& c, std::size_t a) {
    c.k.emplace(*pk);
    c.o.emplace(*po);
    c.k->obs = &*c.o;
    apply_op(*c.k, alphabet[a]);
    c.key = encode_state(*c.k, *c.o, w, c.buf);
  }
  fingerprint128 fingerprint_of(const slot& c) const { return fingerprint(c.key); }
  std::vector<state_failure> failures(const slot& c) const { return sdmc::failures(pol, opt, w, *c.k, *c.o); }
  static constexpr bool failures_have_detail = true;
  void keep(const slot& c, frontier& f) const { f.add(c.key); }
  std::size_t key_bytes(const slot& c) const { return c.key.size(); }
};

// The compact engine (sim/compact/rules.hpp): the state is its own key. A state its own
// judgement finds failing is rebuilt in the model and judged there, so what is reported is
// the model's verdict. With cross_check, every transition is also run by the model and must
// give the same key, and every state must get the same verdict from both. State: 128-byte
// compact::state, or 64-byte compact::anon_state when the alphabet maps no memory files.
template <class State>
struct compact_engine {
  const policy& pol;
  const explore_options& opt;
  const state_window& w;
  const std::vector<Line>& alphabet;
  bool cross_check;
  compact::rules rules{pol, opt, alphabet};
  struct slot {
    State s;
  };
  // In huge pages, reused level after level (sim/huge_region.hpp): a level of 64 GiB is 512 M
  // states of 128 bytes, more than the memory of any machine this runs on.
  using frontier = huge_vector<State>;
  static frontier make_frontier() {
    return frontier((std::size_t(64) << 30) / sizeof(State), "explorer frontier");
  }
  static constexpr std::size_t lookahead = 32;  // small fixed-size children: prefetch far ahead
  State parent{};
  fingerprint128 self{};
  std::optional<kernel> pk{};  // cross_check: the parent as the model holds it
  std::optional<oracle> po{};
  std::string model_key{};     // ... and the model's key of its child
  std::vector<char> buf{};

  fingerprint128 initial(slot& c) {
    c.s = State{};
    return compact::fingerprint(c.s);
  }
  void load(const frontier& f, std::size_t i) {
    parent = f[i];
    self = compact::fingerprint(parent);
    if (cross_check) {
      pk.emplace(pol, opt.swap);
      po.emplace();
      rules.to_model(parent, *pk, *po);
    }
  }
  void child(slot& c, std::size_t a) {
    c.s = parent;
    rules.apply(c.s, a);
    if (cross_check) check_transition(c.s, a);
  }
  // A quarter to a third of the operations change nothing: no fingerprint needed.
  fingerprint128 fingerprint_of(const slot& c) const {
    return c.s == parent ? self : compact::fingerprint(c.s);
  }
  // What its own judgement finds, named as the model names it but without the pages (the
  // detail): the search asks explain() for that when it reports the state.
  std::vector<state_failure> failures(const slot& c) const {
    const unsigned bits = rules.judge(c.s);
    if (cross_check) return model_failures(c, bits);
    std::vector<state_failure> out;
    for (const auto& [bit, what] : compact::failure_names)
      if (bits & bit) out.push_back({std::string(what), {}});
    return out;
  }
  static constexpr bool failures_have_detail = false;
  std::vector<state_failure> explain(const slot& c) const { return model_failures(c, rules.judge(c.s)); }
  // The model's judgement of the same state, which must find what the compact one found.
  std::vector<state_failure> model_failures(const slot& c, unsigned bits) const {
    kernel k(pol, opt.swap);
    oracle o;
    rules.to_model(c.s, k, o);
    std::vector<state_failure> f = sdmc::failures(pol, opt, w, k, o);
    if (compact::failure_bits(f) != bits)
      throw std::logic_error(fmt::format(
          "compact engine: the state judged {:#x} by its rules is judged {:#x} by the model ({})\n  state: {}",
          bits, compact::failure_bits(f), f.empty() ? "no failure" : f.front().what + ": " + f.front().detail,
          compact::describe(c.s)));
    return f;
  }
  void keep(const slot& c, frontier& f) const { f.push_back(c.s); }
  std::size_t key_bytes(const slot&) const { return sizeof(State); }

  // The model's transition from the same parent must reach the same state.
  void check_transition(const State& got, std::size_t a) {
    kernel k(*pk);
    oracle o(*po);
    k.obs = &o;
    apply_op(k, alphabet[a]);
    model_key.assign(encode_state(k, o, w, buf));
    kernel gk(pol, opt.swap);
    oracle go;
    rules.to_model(got, gk, go);
    if (encode_state(gk, go, w, buf) != model_key)
      throw std::logic_error("compact engine: `" + format_line(alphabet[a]) +
                             "` reaches a state the model does not reach from the same parent\n  parent: " +
                             compact::describe(parent) + "\n  child:  " + compact::describe(got));
  }
};

template <class Engine>
explore_result search(Engine& eng, const explore_options& opt, const std::vector<Line>& alphabet,
                      const policy& pol, const state_window& w,
                      const std::function<void(const explore_progress&)>& progress,
                      std::chrono::milliseconds progress_every) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const double cpu0 = thread_cpu_seconds();
  auto next_report = t0 + progress_every;

  explore_result res;
  res.alphabet = alphabet.size();
  fingerprint_set seen;
  // Per state, in discovery order (4 G states at most): its parent and the alphabet index that
  // reached it.
  huge_vector<std::uint32_t> parent(std::size_t(1) << 32, "explorer parents");
  huge_vector<std::uint16_t> via(std::size_t(1) << 32, "explorer parent operations");
  typename Engine::frontier cur = eng.make_frontier(), next = eng.make_frontier();

  auto path_to = [&](std::uint64_t s) {
    std::vector<Line> ops;
    for (; s != 0; s = parent[s]) ops.push_back(alphabet[via[s]]);
    std::reverse(ops.begin(), ops.end());
    return ops;
  };
  auto found_one = [&](std::optional<explore_counterexample>& slot, std::string what,
                       std::string detail, std::uint64_t s) {
    slot = explore_counterexample{std::move(what), std::move(detail), path_to(s)};
    verify(pol, opt, w, *slot);
  };
  // An engine that disagrees with the model (std::logic_error) is reported with the trace that
  // reached the state, so that it can be replayed.
  auto traced = [&](const std::logic_error& e, std::vector<Line> ops) {
    std::string m = std::string(e.what()) + "\n  reached by:";
    for (const Line& l : ops) m += "\n    " + format_line(l);
    return std::logic_error(m);
  };
  // Checks a new state; true when the search must stop.
  auto check = [&](const typename Engine::slot& c, std::uint64_t s) {
    std::vector<state_failure> fs;
    try {
      fs = eng.failures(c);
    } catch (const std::logic_error& e) {
      throw traced(e, path_to(s));
    }
    // The pages (an engine may leave them out) are needed for what is reported: a violation,
    // or the first state of a finding's class.
    auto reported = [&](const state_failure& f) {
      if (!(opt.soundness_is_finding && is_soundness(f))) return true;
      return !(f.what == "false negative" ? res.false_negative : res.lost_new_mapping);
    };
    if constexpr (!Engine::failures_have_detail)
      if (std::any_of(fs.begin(), fs.end(), reported)) {
        try {
          fs = eng.explain(c);
        } catch (const std::logic_error& e) {
          throw traced(e, path_to(s));
        }
      }
    bool finding = false;
    for (state_failure& f : fs) {
      if (!(opt.soundness_is_finding && is_soundness(f))) {
        found_one(res.violation, std::move(f.what), std::move(f.detail), s);
        return true;
      }
      // Under the baseline, the first (shortest) state of each soundness class is kept.
      auto& slot = f.what == "false negative" ? res.false_negative : res.lost_new_mapping;
      if (!slot) found_one(slot, f.what, std::move(f.detail), s);
      finding = true;
    }
    res.finding_states += finding;
    return false;
  };
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  auto finish = [&] {
    res.seconds = elapsed();
    res.cpu_seconds = thread_cpu_seconds() - cpu0;
    res.states = seen.size();
    return res;
  };

  // The initial state: an empty address space.
  {
    typename Engine::slot c;
    seen.insert(eng.initial(c));
    parent.push_back(0);
    via.push_back(0);
    res.states_at_depth.push_back(1);
    res.key_bytes_max = eng.key_bytes(c);
    if (check(c, 0)) return finish();
    eng.keep(c, cur);
  }

  std::uint64_t level_first = 0;  // index of the first state of the level being expanded
  // A pipeline over a ring of Engine::lookahead children, in blocks of a quarter of it: child a
  // is built, then child a-1 fingerprinted (its bytes were stored one operation ago: no load
  // waits on a store still in flight); once a block is fingerprinted, its visited-set slots are
  // prefetched back to back and the block before it inserted. Prefetches spread one per child
  // left the instruction stalled on its own address translation (a TLB miss each in a table of
  // tens of MB): back to back, their page walks overlap.
  constexpr std::size_t L = Engine::lookahead, B = L / 4;
  static_assert(L >= 4 && (L & (L - 1)) == 0);
  std::vector<typename Engine::slot> kid(L);
  std::array<fingerprint128, L> fp;
  for (unsigned depth = 0; depth < opt.depth && cur.size(); ++depth) {
    const std::uint64_t next_first = level_first + cur.size();
    const bool keep_keys = depth + 1 < opt.depth;
    std::uint64_t found = 0;
    for (std::size_t i = 0; i < cur.size(); ++i) {
      eng.load(cur, i);
      // Inserts child `a`; true when the search must stop.
      auto settle = [&](std::size_t a) {
        const std::size_t c = a & (L - 1);
        // Counted here, not when built: a search that stops counts the same whatever its ring.
        ++res.transitions;
        if (fp[c] == eng.self) {
          ++res.self_loops;
          return false;  // the parent is in the set
        }
        if (!seen.insert(fp[c])) return false;
        const std::uint64_t s = parent.size();
        parent.push_back(std::uint32_t(level_first + i));
        via.push_back(std::uint16_t(a));
        ++found;
        res.key_bytes_max = std::max(res.key_bytes_max, eng.key_bytes(kid[c]));
        if (keep_keys) eng.keep(kid[c], next);
        return check(kid[c], s) || (opt.max_states && seen.size() >= opt.max_states);
      };
      auto hash = [&](std::size_t a) { fp[a & (L - 1)] = eng.fingerprint_of(kid[a & (L - 1)]); };
      std::size_t prefetched = 0, settled = 0;  // children [0, prefetched), [0, settled)
      auto prefetch_to = [&](std::size_t end) {
        for (; prefetched < end; ++prefetched)
          if (const fingerprint128& f = fp[prefetched & (L - 1)]; !(f == eng.self)) seen.prefetch(f);
      };
      auto settle_to = [&](std::size_t end) {
        for (; settled < end; ++settled)
          if (settle(settled)) return true;
        return false;
      };
      const std::size_t n = alphabet.size();
      for (std::size_t a = 0; a < n; ++a) {
        // Unsettled here: [a - 2B, a) at worst, then child a; 2B + 1 <= L.
        try {
          eng.child(kid[a & (L - 1)], a);
        } catch (const std::logic_error& e) {
          std::vector<Line> ops = path_to(level_first + i);
          ops.push_back(alphabet[a]);
          throw traced(e, std::move(ops));
        }
        if (a) hash(a - 1);
        if (a % B == 0 && a >= B) {  // the block [a - B, a) is fingerprinted
          prefetch_to(a);
          if (a >= 2 * B && settle_to(a - B)) {
            res.states_at_depth.push_back(found);
            return finish();
          }
        }
      }
      if (n) hash(n - 1);
      prefetch_to(n);
      if (settle_to(n)) {
        res.states_at_depth.push_back(found);
        return finish();
      }
      if (progress && clock::now() >= next_report) {
        next_report = clock::now() + progress_every;
        progress({depth, seen.size(), res.transitions, cur.size(), i + 1, elapsed()});
      }
    }
    res.states_at_depth.push_back(found);
    res.depth_done = depth + 1;
    level_first = next_first;
    std::swap(cur, next);
    next.clear();
    if (parent.size() > 0xfffffff0u) throw std::length_error("more than 4 G states");
  }
  res.complete = true;
  return finish();
}

}  // namespace

explore_engine auto_engine(const policy& pol, const explore_options& opt, const std::vector<Line>& alphabet,
                           std::string* why) {
  std::optional<std::string> refused = compact::rules::unsupported(pol, opt, alphabet);
  if (refused && why) *why = std::move(*refused);
  return refused ? explore_engine::model : explore_engine::compact;
}

explore_result explore(const policy& pol, const explore_options& opt,
                       const std::function<void(const explore_progress&)>& progress,
                       std::chrono::milliseconds progress_every) {
  const std::vector<Line> alphabet = make_alphabet(opt);
  if (opt.precision && pol.emulates_soft_dirty_with_uffd_wp())
    throw std::invalid_argument("--precision: uffd-wp has kernel-mandated false positives after "
                                "zaps (props/properties.hpp); its precision is a property test");
  const state_window w{addr_to_pfn(opt.base), opt.pages};
  if (opt.engine == explore_engine::compact) {
    if (compact::rules::maps_files(alphabet)) {
      compact_engine<compact::state> eng{pol, opt, w, alphabet, opt.cross_check};
      return search(eng, opt, alphabet, pol, w, progress, progress_every);
    }
    compact_engine<compact::anon_state> eng{pol, opt, w, alphabet, opt.cross_check};
    return search(eng, opt, alphabet, pol, w, progress, progress_every);
  }
  if (opt.cross_check) throw std::invalid_argument("--cross-check checks the compact engine: it needs --engine compact");
  model_engine eng{pol, opt, w, alphabet};
  return search(eng, opt, alphabet, pol, w, progress, progress_every);
}

trace::Trace counterexample_trace(const policy& pol, const explore_options& opt,
                                  const std::vector<Line>& ops) {
  Trace t;
  t.swap = opt.swap;
  kernel k(pol, opt.swap);
  configure(k, opt);
  int lineno = 0;
  for (Line l : ops) {
    l.expected = apply_op(k, l);
    l.lineno = ++lineno;
    t.lines.push_back(std::move(l));
  }
  return t;
}

}  // namespace sdmc
