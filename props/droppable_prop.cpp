// MAP_DROPPABLE properties (issue 3, Properties -> MAP_DROPPABLE; soft-dirty-bug-history B20):
//  1. droppable memory never merges with other anonymous memory;
//  2. a dropped page reads zero and is not present (and a droppable page is never swapped);
//  3. reclaim of droppable pages never changes the bits of any other page;
//  4. a written shmem page is never lost: its dirtiness reaches the page cache before reclaim;
//  5. the dirty-skip design keeps soft-dirty exact: every result, bit and VMA as under 6.12's
//     swapbacked design, and no false negative or lost new mapping under sticky.
// Properties 1-4 hold under both droppable designs (model/droppable.hpp); the mutant
// droppable_dirty_skip_and breaks 4, and mutant_droppable finds it.
//
// rc::state machine tests: each command is one sdtrace line inside a 16-page window, drawn from
// a mix heavy in droppable and shmem mappings, stores through writable PTEs and reclaim; the
// properties are checked after every line. A failure is shrunk by RapidCheck and printed as an
// sdtrace file that `sdmc replay` runs. Seeds are fixed per property (deterministic ctest runs);
// RC_PARAMS (e.g. RC_PARAMS="seed=7 max_success=5000") overrides them.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "model/policy.hpp"
#include "sim/replay.hpp"
#include "sim/state_check.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {
namespace {

using u64 = std::uint64_t;
template <class... Ts> struct overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> overloaded(Ts...) -> overloaded<Ts...>;

// The window every generated operation stays in.
constexpr u64 BASE = 0x100000000, W = 16;
constexpr pfn_t WIN_LO = BASE >> PAGE_SHIFT, WIN_HI = WIN_LO + W;

std::string hex(u64 v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

// --- generation ----------------------------------------------------------------------------

enum class kind {
  write, read, read_write, mmap_droppable, mmap_shared_file, reclaim_range, reclaim_droppable, mmap_private,
  mmap_shared_anon, reclaim_all, munmap, mprotect, clear_refs, dontneed, free, remove, willneed,
  cold, mremap, fork,
};

// One generated step: sdtrace lines, or "reclaim the n-th droppable VMA of the window", whose
// range only the state at that point knows (it is recorded as the `reclaim ADDR LEN` it became).
struct step {
  std::vector<trace::Line> lines;  // empty: the droppable reclaim
  unsigned droppable_vma = 0;
};

trace::Line line_of(trace::Op op) {
  trace::Line l;
  l.op = std::move(op);
  return l;
}

std::uint8_t draw_prot() {
  return *rc::gen::weightedElement<std::uint8_t>(
      {{6, trace::PROT_R | trace::PROT_W}, {2, trace::PROT_R}, {1, 0}});
}

step draw_step() {
  const kind k = *rc::gen::weightedElement<kind>({
      {12, kind::write}, {10, kind::read}, {8, kind::read_write}, {8, kind::mmap_droppable},
      {8, kind::mmap_shared_file}, {8, kind::reclaim_range}, {6, kind::reclaim_droppable},
      {6, kind::mmap_private}, {2, kind::mmap_shared_anon}, {3, kind::reclaim_all},
      {4, kind::munmap}, {3, kind::mprotect}, {4, kind::clear_refs}, {3, kind::dontneed},
      {3, kind::free}, {2, kind::remove}, {1, kind::willneed}, {1, kind::cold},
      {3, kind::mremap}, {2, kind::fork},
  });
  const u64 first = *rc::gen::inRange<u64>(0, W);
  const u64 len = *rc::gen::inRange<u64>(1, std::min<u64>(4, W - first) + 1);
  const u64 addr = BASE + first * PAGE_SIZE, bytes = len * PAGE_SIZE;
  auto mmap = [&](trace::Sharing sharing, bool file) {
    trace::Mmap m;
    m.addr = addr;
    m.len = bytes;
    m.prot = draw_prot();
    m.sharing = sharing;
    m.fixed = true;
    if (file)
      m.file = trace::FileRef{*rc::gen::element(std::string("a"), std::string("b")),
                              *rc::gen::inRange<u64>(0, 8) * PAGE_SIZE, false};
    return line_of(m);
  };
  auto advise = [&](trace::Advice a) { return line_of(trace::Madvise{addr, bytes, a}); };
  step s;
  auto& line = s.lines.emplace_back();
  switch (k) {
    case kind::write: line = line_of(trace::Write{addr, bytes}); break;
    case kind::read: line = line_of(trace::Read{addr, bytes}); break;
    case kind::read_write:
      // A store through a PTE that a read mapped: writable and clean while VM_SOFTDIRTY keeps
      // write-notify off (rule 8), so only the hardware dirty bit records it.
      line = line_of(trace::Read{addr, bytes});
      s.lines.push_back(line_of(trace::Write{addr, bytes}));
      break;
    case kind::mmap_droppable: line = mmap(trace::Sharing::Droppable, false); break;
    case kind::mmap_shared_file: line = mmap(trace::Sharing::Shared, true); break;
    case kind::mmap_private: line = mmap(trace::Sharing::Private, false); break;
    case kind::mmap_shared_anon: line = mmap(trace::Sharing::Shared, false); break;
    case kind::reclaim_range: line = line_of(trace::Reclaim{addr, bytes}); break;
    case kind::reclaim_all: line = line_of(trace::Reclaim{}); break;
    case kind::reclaim_droppable:
      s.lines.clear();
      s.droppable_vma = *rc::gen::inRange(0u, 4u);
      break;
    case kind::munmap: line = line_of(trace::Munmap{addr, bytes}); break;
    case kind::mprotect: line = line_of(trace::Mprotect{addr, bytes, draw_prot()}); break;
    case kind::clear_refs: line = line_of(trace::ClearRefs{}); break;
    case kind::dontneed: line = advise(trace::Advice::Dontneed); break;
    case kind::free: line = advise(trace::Advice::Free); break;
    case kind::remove: line = advise(trace::Advice::Remove); break;
    case kind::willneed: line = advise(trace::Advice::Willneed); break;
    case kind::cold: line = advise(trace::Advice::Cold); break;
    case kind::fork: line = line_of(trace::Fork{}); break;
    case kind::mremap: {
      trace::Mremap m;
      m.old_addr = addr;
      m.old_len = bytes;
      m.dontunmap = *rc::gen::weightedElement<bool>({{3, false}, {1, true}});
      const u64 new_len = m.dontunmap ? len : *rc::gen::inRange<u64>(1, 5);
      m.new_len = new_len * PAGE_SIZE;
      m.maymove = true;
      m.fixed = BASE + *rc::gen::inRange<u64>(0, W - new_len + 1) * PAGE_SIZE;
      line = line_of(m);
      break;
    }
  }
  return s;
}

// --- the system under test: one replayer per configuration, stepped together ---------------

struct config {
  std::string policy = "upstream-6.12";
  droppable_design droppable = droppable_design::swapbacked;
  mutant bug = mutant::none;
  std::string name() const {
    std::string n = policy + ", droppable " + std::string(droppable_design_name(droppable));
    if (bug != mutant::none) n += ", mutant " + std::string(mutant_name(bug));
    return n;
  }
};

// What the properties compare across a step.
struct snapshot {
  std::vector<pagemap_entry> pages;  // the window
  std::vector<vma_ref> vmas;
  mm_struct::memfiles files;
};

bool same_vmas(const std::vector<vma_ref>& a, const std::vector<vma_ref>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t v = 0; v < a.size(); ++v)
    if (a[v].vm_start != b[v].vm_start || a[v].vm_end != b[v].vm_end || a[v].flags() != b[v].flags())
      return false;
  return true;
}

snapshot snap(const kernel& k) {
  snapshot s;
  for (pfn_t p = WIN_LO; p < WIN_HI; ++p) s.pages.push_back(k.pagemap(p));
  s.vmas = k.mm.all_vmas();
  s.files = k.mm.files;
  return s;
}

struct sut;
// A property: called after every line on each configuration (`i` indexes sut::runs), with the
// state of that configuration before the line.
using property = std::function<void(sut&, std::size_t i, const snapshot& before,
                                    const trace::Line& line, bool droppable_reclaim)>;

struct sut {
  sut(bool swap, const std::vector<config>& configs, property prop)
      : configs_(configs), prop_(std::move(prop)) {
    header.swap = swap;
    header.path = "property.sdt";
    for (const config& c : configs_) {
      pols_.push_back(make_policy(c.policy));
      runs.push_back(std::make_unique<replayer>(header, *pols_.back()));
      runs.back()->k.mm.droppable = c.droppable;
      runs.back()->k.mm.bug = c.bug;
    }
    ghost_droppable.assign(W, -1);
  }
  sut(const sut&) = delete;

  trace::Trace header;
  std::vector<std::unique_ptr<replayer>> runs;
  std::vector<trace::Line> lines;       // what ran so far: the counterexample when one fails
  std::vector<signed char> ghost_droppable;  // per window page: mapped droppable 1, not 0, -1 unmapped
  bool throw_on_violation = true;
  std::optional<std::string> violation;

  const config& cfg(std::size_t i) const { return configs_[i]; }
  kernel& k(std::size_t i) { return runs[i]->k; }

  void apply(const step& st) {
    for (const trace::Line& l : st.lines) run(l);
    if (!st.lines.empty()) return;
    // Reclaim the droppable_vma-th droppable VMA of the window, if there is one.
    std::vector<vma_ref> d;
    for (const vma_ref& v : k(0).mm.vmas_in(WIN_LO, WIN_HI))
      if (v.flags() & VM_DROPPABLE) d.push_back(v);
    if (d.empty()) return;
    const vma_ref& v = d[st.droppable_vma % d.size()];
    run(line_of(trace::Reclaim{pfn_to_addr(v.vm_start), pfn_to_addr(v.pages())}), true);
  }

  void run(const trace::Line& l, bool droppable_reclaim = false) {
    std::vector<snapshot> before;
    for (std::size_t i = 0; i < runs.size(); ++i) before.push_back(snap(k(i)));
    lines.push_back(l);
    for (auto& r : runs) r->step(l);
    update_ghost(l, runs[0]->results.back());
    for (std::size_t i = 0; i < runs.size() && !violation; ++i)
      prop_(*this, i, before[i], l, droppable_reclaim);
  }

  // Records a violation; inside RapidCheck, fails the case (the last failing case is the
  // shrunk counterexample).
  void fail(std::size_t i, const std::string& what) {
    if (violation) return;
    violation = "under " + configs_[i].name() + ", after line " + std::to_string(lines.size()) +
                " `" + trace::format_line(lines.back()) + "`: " + what;
    if (throw_on_violation) {
      last_failure() = {*violation, trace_text(configs_[i])};
      RC_FAIL(*violation);
    }
  }

  std::string trace_text(const config& c) const {
    trace::Trace t = header;
    t.lines = lines;
    std::string out = "# a counterexample found by props/droppable_prop.cpp under " + c.name() + "\n";
    if (c.droppable != droppable_design::swapbacked)
      out += "# replay with --droppable " + std::string(droppable_design_name(c.droppable)) + "\n";
    if (c.bug != mutant::none) out += "# (with the mutant " + std::string(mutant_name(c.bug)) + ")\n";
    return out + trace::write(t);
  }

  struct failure { std::string message, trace; };
  static std::optional<failure>& last_failure() {
    static std::optional<failure> f;
    return f;
  }

 private:
  std::vector<config> configs_;
  std::vector<std::unique_ptr<policy>> pols_;
  property prop_;

  // The droppable ghost of property 1, from the operations and their results alone.
  void update_ghost(const trace::Line& l, const Result& res) {
    auto set = [&](u64 addr, u64 len, signed char v) {
      const pfn_t s = addr_to_pfn(addr), e = s + trace::pages_spanned(addr, len);
      for (pfn_t p = std::max(s, WIN_LO); p < std::min(e, WIN_HI); ++p) ghost_droppable[p - WIN_LO] = v;
    };
    std::visit(overloaded{
                   [&](const trace::Mmap& m) {
                     if (res == ok(m.addr)) set(m.addr, m.len, m.sharing == trace::Sharing::Droppable);
                   },
                   [&](const trace::Munmap& m) {
                     if (res == ok(0)) set(m.addr, m.len, -1);
                   },
                   [&](const trace::Mremap& m) {
                     if (res.kind != Result::Kind::Value) return;
                     const signed char was = ghost_droppable[addr_to_pfn(m.old_addr) - WIN_LO];
                     if (!m.dontunmap) set(m.old_addr, m.old_len, -1);
                     set(res.value, m.new_len, was);  // the VMA moves or grows with its flags
                   },
                   [](const auto&) {},
               },
               l.op);
  }
};

struct model {};  // the commands need no model state: the window is fixed

struct op_cmd : rc::state::Command<model, sut> {
  step s = draw_step();
  void run(const model&, sut& t) const override { t.apply(s); }
  void show(std::ostream& os) const override {
    for (std::size_t i = 0; i < s.lines.size(); ++i) os << (i ? "; " : "") << trace::format_line(s.lines[i]);
    if (s.lines.empty()) os << "reclaim droppable VMA #" << s.droppable_vma;
  }
};

// --- running a property --------------------------------------------------------------------

struct outcome {
  bool failed = false;
  int cases = 0;            // successful cases before the failure (or in all)
  std::string message;      // RapidCheck's report
  std::optional<sut::failure> counterexample;
};

outcome check(const std::string& id, u64 seed, int cases, const std::vector<config>& configs,
              const property& prop) {
  rc::detail::TestParams params;
  params.seed = seed;
  params.maxSuccess = cases;
  params.maxSize = 100;
  if (std::getenv("RC_PARAMS")) params = rc::detail::configuration().testParams;
  sut::last_failure().reset();
  const rc::detail::TestMetadata md{id, id};
  const auto result = rc::detail::checkTestable(
      [&] {
        const bool swap = *rc::gen::arbitrary<bool>();
        sut t(swap, configs, prop);
        rc::state::check(model{}, t, rc::state::gen::execOneOfWithArgs<op_cmd>());
      },
      md, params);
  outcome o;
  std::ostringstream os;
  rc::detail::printResultMessage(result, os);
  o.message = os.str();
  if (result.is<rc::detail::FailureResult>()) {
    const auto& f = result.get<rc::detail::FailureResult>();
    o.failed = true;
    o.cases = f.numSuccess;
    o.counterexample = sut::last_failure();
  } else if (result.is<rc::detail::SuccessResult>()) {
    o.cases = result.get<rc::detail::SuccessResult>().numSuccess;
  }
  return o;
}

void expect_holds(const std::string& id, u64 seed, int cases, const std::vector<config>& configs,
                  const property& prop) {
  outcome o = check(id, seed, cases, configs, prop);
  if (o.failed) {
    ADD_FAILURE() << o.message << "\n"
                  << (o.counterexample ? o.counterexample->message + "\n" + o.counterexample->trace
                                       : std::string("(no trace)"));
  }
}

const std::vector<config> both_designs = {{"upstream-6.12", droppable_design::swapbacked},
                                          {"upstream-6.12", droppable_design::dirty_skip}};

// --- the properties ------------------------------------------------------------------------

bool covers(const trace::Line& l, pfn_t p) {
  const auto* r = std::get_if<trace::Reclaim>(&l.op);
  if (!r) return false;
  if (!r->addr) return true;
  const pfn_t s = addr_to_pfn(*r->addr);
  return p >= s && p < s + trace::pages_spanned(*r->addr, *r->len);
}

// 1. mm/vma.c:is_mergeable_vma: VM_DROPPABLE|VM_NORESERVE|VM_WIPEONFORK|VM_DONTDUMP (and no
// VM_ACCOUNT) differ from every ordinary anonymous VMA, so no VMA ever holds both kinds.
void never_merges(sut& t, std::size_t i, const snapshot&, const trace::Line&, bool) {
  for (const vma_ref& v : t.k(i).mm.vmas_in(WIN_LO, WIN_HI)) {
    const bool droppable = v.flags() & VM_DROPPABLE;
    for (pfn_t p = std::max(v.vm_start, WIN_LO); p < std::min(v.vm_end, WIN_HI); ++p) {
      const signed char g = t.ghost_droppable[p - WIN_LO];
      if (g >= 0 && bool(g) != droppable)
        return t.fail(i, "page " + hex(pfn_to_addr(p)) + " was mapped " +
                             (g ? "droppable" : "not droppable") + " but lies in the VMA [" +
                             hex(pfn_to_addr(v.vm_start)) + ", " + hex(pfn_to_addr(v.vm_end)) +
                             ") with vm_flags [" + vm_flags_smaps(v.flags()) + "]");
    }
  }
}

// 2. try_to_unmap_one: a droppable page that reclaim reaches is dropped (pte_none), never
// swapped; a droppable page that is not present reads zero (do_anonymous_page: the zero page).
void dropped_reads_zero(sut& t, std::size_t i, const snapshot&, const trace::Line& l, bool) {
  kernel& k = t.k(i);
  const Result res = t.runs[i]->results.back();
  const bool reclaimed = std::holds_alternative<trace::Reclaim>(l.op) &&
                         (res == ok(0) || res == err(ENOMEM));
  std::optional<kernel> reader;  // a copy, so that the probing reads leave the run alone
  for (const vma_ref& v : k.mm.vmas_in(WIN_LO, WIN_HI)) {
    if (!(v.flags() & VM_DROPPABLE)) continue;
    for (pfn_t p = std::max(v.vm_start, WIN_LO); p < std::min(v.vm_end, WIN_HI); ++p) {
      const pte_t pte = k.mm.pte_at(p);
      const std::string at = "droppable page " + hex(pfn_to_addr(p));
      if (k.pagemap(p).swapped) return t.fail(i, at + " reads swapped (bit 62)");
      if (reclaimed && covers(l, p) && pte.is_present() && pte.page != pte_page::zero)
        return t.fail(i, at + " is still present after a reclaim that covered it");
      if (pte.is_present() || !(v.flags() & VM_READ)) continue;
      if (!reader) {
        reader.emplace(k);
        reader->obs = nullptr;
      }
      reader->access(pfn_to_addr(p), 1, false);
      const pte_t r = reader->mm.pte_at(p);
      if (!r.is_present() || r.page != pte_page::zero)
        return t.fail(i, at + " is not present but a read does not map the zero page");
    }
  }
}

// 3. Reclaiming the droppable VMAs touches their pages only: every other page reads the same
// pagemap bits, the VMAs and the page cache are unchanged.
void reclaim_is_local(sut& t, std::size_t i, const snapshot& before, const trace::Line& l,
                      bool droppable_reclaim) {
  if (!droppable_reclaim) return;
  const snapshot after = snap(t.k(i));
  for (pfn_t p = WIN_LO; p < WIN_HI; ++p) {
    const bool own = covers(l, p);
    const pagemap_entry &b = before.pages[p - WIN_LO], &a = after.pages[p - WIN_LO];
    if (!own && !(a == b))
      return t.fail(i, "the pagemap bits of page " + hex(pfn_to_addr(p)) + " outside the droppable range changed");
    if (own && !(a == b) && a.present)
      return t.fail(i, "droppable page " + hex(pfn_to_addr(p)) + " changed but stayed present");
  }
  if (!(after.files == before.files)) return t.fail(i, "the page cache of a memory file changed");
  if (!same_vmas(after.vmas, before.vmas)) return t.fail(i, "the VMAs changed");
}

// 4. A page stored to through a shared mapping holds data until a hole is punched
// (sim/state_check.hpp:shmem_data_lost).
void shmem_never_lost(sut& t, std::size_t i, const snapshot&, const trace::Line&, bool) {
  if (auto lost = shmem_data_lost(t.k(i))) return t.fail(i, *lost);
}

// 5. Configurations come in pairs, swapbacked then dirty-skip under the same policy: every
// result, pagemap bit, VMA, page-cache page and oracle judgement agree, so the design is
// invisible to soft-dirty. And under sticky (the Nov 2025 merge fix) dirty-skip is exact: no
// false negative and no lost new mapping at any point. A page it drops reads zero, which
// bit 55 = 0 then reports truthfully (B20, "present=0 and sd=0 => content is zero"); what
// every 6.12-based design loses by the kernel's own rules (a reclaimed shmem PTE, a relocated
// mapping) the oracle counts apart as kernel gaps.
void dirty_skip_is_exact(sut& t, std::size_t i, const snapshot&, const trace::Line&, bool) {
  if (i % 2 == 0) return;
  const replayer &a = *t.runs[i - 1], &b = *t.runs[i];
  if (!(a.results.back() == b.results.back()))
    return t.fail(i, "returned " + trace::format_result(b.results.back()) + " where swapbacked returns " +
                         trace::format_result(a.results.back()));
  const snapshot sa = snap(a.k), sb = snap(b.k);
  for (pfn_t p = WIN_LO; p < WIN_HI; ++p)
    if (!(sa.pages[p - WIN_LO] == sb.pages[p - WIN_LO]))
      return t.fail(i, "page " + hex(pfn_to_addr(p)) + " reads other pagemap bits than under swapbacked");
  if (!same_vmas(sa.vmas, sb.vmas)) return t.fail(i, "the VMAs differ from swapbacked");
  for (std::size_t f = 0; f < sa.files.size(); ++f)
    if (!(sa.files[f].cached == sb.files[f].cached) || !(sa.files[f].swapped == sb.files[f].swapped))
      return t.fail(i, "the page cache differs from swapbacked");
  const judgement ja = a.ghost.judge_sd(a.k), jb = b.ghost.judge_sd(b.k);
  if (!(ja.false_negatives == jb.false_negatives) || !(ja.lost_new_mappings == jb.lost_new_mappings) ||
      !(ja.false_positives == jb.false_positives))
    return t.fail(i, "the oracle judges the soft-dirty report differently from swapbacked");
  if (t.cfg(i).policy != "sticky") return;
  if (!jb.false_negatives.empty())
    return t.fail(i, "false negative at " + hex(pfn_to_addr(jb.false_negatives.begin()->lower())));
  if (!jb.lost_new_mappings.empty())
    return t.fail(i, "lost new mapping at " + hex(pfn_to_addr(jb.lost_new_mappings.begin()->lower())));
}

TEST(droppable_props, droppable_never_merges_with_other_anonymous_memory) {
  expect_holds("droppable never merges", 0x5d0001, 300, both_designs, never_merges);
}

TEST(droppable_props, a_dropped_page_reads_zero_and_is_not_present) {
  expect_holds("dropped reads zero", 0x5d0002, 300, both_designs, dropped_reads_zero);
}

TEST(droppable_props, reclaim_of_droppable_pages_never_changes_the_bits_of_any_other_page) {
  expect_holds("reclaim is local", 0x5d0003, 300, both_designs, reclaim_is_local);
}

TEST(droppable_props, a_written_shmem_page_is_never_lost) {
  expect_holds("shmem never lost", 0x5d0004, 1000, both_designs, shmem_never_lost);
}

TEST(droppable_props, the_dirty_skip_design_keeps_soft_dirty_exact) {
  expect_holds("dirty-skip is exact", 0x5d0005, 300,
               {{"upstream-6.12", droppable_design::swapbacked},
                {"upstream-6.12", droppable_design::dirty_skip},
                {"sticky", droppable_design::swapbacked},
                {"sticky", droppable_design::dirty_skip}},
               dirty_skip_is_exact);
}

// --- the mutant ----------------------------------------------------------------------------

// Replays a trace file on a fresh sut; returns the violation of `prop`, if any.
std::optional<std::string> replay_violation(const trace::Trace& t, const config& c,
                                            const property& prop) {
  sut s(t.swap, {c}, prop);
  s.throw_on_violation = false;
  for (const trace::Line& l : t.lines) {
    s.run(l);
    if (s.violation) break;
  }
  return s.violation;
}

TEST(mutant_droppable, dirty_skip_and_loses_a_written_shmem_page) {
  // The fixed budget: one seed, at most 300 cases.
  const config bug{"upstream-6.12", droppable_design::swapbacked, mutant::droppable_dirty_skip_and};
  outcome o = check("mutant droppable-dirty-skip-and", 0x5d0100, 300, {bug}, shmem_never_lost);
  ASSERT_TRUE(o.failed) << "the property did not find the mutant in 300 cases";
  ASSERT_TRUE(o.counterexample);
  std::cout << "found after " << o.cases << " passing cases: " << o.counterexample->message
            << "\n" << o.counterexample->trace;

  const std::filesystem::path out =
      std::filesystem::path(SDMC_BINARY_DIR) / "sdmc-out" / "mutant-droppable-dirty-skip-and.sdt";
  std::filesystem::create_directories(out.parent_path());
  std::ofstream(out) << o.counterexample->trace;
  const trace::Trace t = trace::parse_file(out.string());
  EXPECT_LE(t.lines.size(), 6u) << o.counterexample->trace;
  // The kind of trace B20 describes: a shmem page written, then reclaimed.
  bool shared_file = false, reclaim = false;
  for (const trace::Line& l : t.lines) {
    if (const auto* m = std::get_if<trace::Mmap>(&l.op); m && m->sharing == trace::Sharing::Shared)
      shared_file = true;
    if (std::holds_alternative<trace::Reclaim>(l.op)) reclaim = true;
  }
  EXPECT_TRUE(shared_file && reclaim) << o.counterexample->trace;
  // The file written is the counterexample: it fails with the mutant, and holds without it
  // under either design.
  EXPECT_TRUE(replay_violation(t, bug, shmem_never_lost)) << o.counterexample->trace;
  for (const config& c : both_designs)
    EXPECT_EQ(replay_violation(t, c, shmem_never_lost), std::nullopt) << c.name();
}

}  // namespace
}  // namespace sdmc
