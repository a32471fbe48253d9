// An rc::state machine test: the sdmc kernel (the system under test) against a reference
// model that knows nothing of VMAs, merges or PTEs -- per page of an 8-page window only
// "mapped, with which protection?", "stored to since the last clear_refs?" and "newly mapped
// since the last clear_refs?". After every command:
//  - the kernel returns what the reference model predicts (the address of an mmap or
//    mremap, 0, SIGSEGV or SIGBUS for an access, ENOMEM for an mprotect over a hole);
//  - the pages the kernel maps are the ones the reference model maps;
//  - soundness against the reference model: a page stored to that holds data, and (where the
//    policy carries the signal) a newly mapped page, reads soft-dirty;
//  - the ghost oracle agrees with the reference model about stores and new mappings;
//  - check_invariants holds.
// Every policy but upstream-6.12, which fails the soundness half by design.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <memory>
#include <utility>
#include <vector>

#include "sim/invariants.hpp"
#include "props/policy_list.hpp"
#include "props/properties.hpp"
#include "sim/replay.hpp"

namespace sdmc::props {
namespace {

using namespace trace;

constexpr unsigned W = 8;                      // pages in the window
constexpr std::uint64_t BASE = 0x100000000;
constexpr std::uint64_t PS = 4096;
constexpr std::uint64_t addr_of(unsigned page) { return BASE + page * PS; }

struct page_state {
  bool mapped = false;
  std::uint8_t prot = 0;
  bool shared = false;   // shmem (memfd or shared anonymous): its content outlives a zap
  bool written = false;  // a store went through it since the last clear_refs
  bool fresh = false;    // newly mapped (mmap, mremap destination) since the last clear_refs
  // The kernel-mandated exceptions every design built on 6.12 shares (sim/oracle.hpp). An
  // mremap move marks the moved PTEs soft-dirty but not the VMA (mm/vma.c:copy_vma copies the
  // source's flags), so a moved page has no mark of being new but its PTE's, if any
  // (moved_gap: moved here, and not new at its source but through such a gap; a grown tail
  // too). A zap of a shmem page keeps the content in the page cache but takes the PTE's
  // soft-dirty bit with it (mm/memory.c:zap_pte_range): `zapped` is set by every operation
  // that may zap the page (a superset), and cleared by a store, which faults.
  bool moved_gap = false;
  bool zapped = false;
  // The shmem file behind a shared page (0: none) and the page's index in it.
  unsigned file = 0;
  std::uint64_t index = 0;
};

struct ref_model {
  std::array<page_state, W> pages{};
  // i_size in pages of each file by id: 1 is the memfd "a", grown to OFFSET+LEN at each mmap
  // and never by mremap; 2, 3, ... the shmem file of each shared anonymous mmap, as long as
  // that mmap (mm/shmem.c:shmem_zero_setup). Index 0 is unused.
  std::vector<std::uint64_t> file_pages{0, 0};
  // Page boundaries where a VMA may end (every end of a range an operation named, minus the
  // inside of ranges mapped or unmapped as a whole since): the kernel's VMA boundaries are a
  // subset, so a range with none inside is inside one VMA, which is what mremap needs.
  std::bitset<W + 1> cuts;
  void cut(unsigned s, unsigned e) {
    for (unsigned i = s + 1; i < e; ++i) cuts[i] = false;
    cuts[s] = cuts[e] = true;
  }
  void mark(unsigned s, unsigned e) { cuts[s] = cuts[e] = true; }
};

struct sut {
  std::unique_ptr<policy> pol;
  trace::Trace header;
  std::unique_ptr<replayer> rep;
  sut(const std::string& name, bool swap) : pol(make_policy(name)) {
    header.swap = swap;
    replay_options ro;
    ro.expectations_are_failures = ro.results_are_failures = false;
    rep = std::make_unique<replayer>(header, *pol, ro);
  }
  Result step(Op op) {
    Line l;
    l.op = std::move(op);
    rep->step(l);
    return rep->results.back();
  }
};

using command = rc::state::Command<ref_model, sut>;

// What every command checks after it ran: the kernel against the state the reference model
// predicts after the command.
void check_against(const ref_model& m, sut& s) {
  const kernel& k = s.rep->k;
  const pfn_t first = addr_to_pfn(BASE);
  const pset bit55 = k.soft_dirty_pages(first, first + W);
  const pset data = k.present_pages(first, first + W, true) + k.swapped_pages(first, first + W, true);
  const bool lost_counts = carries_new_mapping_signal(*s.pol);
  pset stored, fresh;
  for (unsigned i = 0; i < W; ++i) {
    const page_state& p = m.pages[i];
    const pfn_t pfn = first + i;
    RC_ASSERT(k.mm.find_vma(pfn).has_value() == p.mapped);
    const bool sd = boost::icl::contains(bit55, pfn);
    // A consumer treats a page that is neither present nor swapped as zero, so only pages
    // holding data can be false negatives (the oracle's rule).
    if (p.written && !(p.shared && p.zapped) && boost::icl::contains(data, pfn) && !sd)
      RC_FAIL("false negative: page " + std::to_string(i) + " was stored to and reads clean");
    if (lost_counts && p.fresh && !p.moved_gap && !sd)
      RC_FAIL("lost new mapping: page " + std::to_string(i) + " is new and reads clean");
    if (p.written) stored += prange(pfn, pfn + 1);
    if (p.fresh) fresh += prange(pfn, pfn + 1);
  }
  RC_ASSERT(s.rep->ghost.stored_since_clear == stored);
  // The uffd-wp design's consumer write-protects a new mapping at once: a reset point for the
  // range (oracle::sd_reset), so the oracle keeps no "new" there.
  if (lost_counts) RC_ASSERT(s.rep->ghost.new_since_clear == fresh);
  if (auto v = check_invariants(k)) RC_FAIL(*v);
}

// A value in [lo, hi), uniform whatever RapidCheck's current size (rc::gen::inRange narrows
// its range at small sizes), shrinking towards lo.
unsigned pick(unsigned lo, unsigned hi) { return *rc::gen::resize(100, rc::gen::inRange(lo, hi)); }

// A range [first, first+len) of the window.
struct span {
  unsigned first = 0, len = 1;
  static span any() {
    span s;
    s.len = pick(1, 5);
    s.first = pick(0, W - s.len + 1);
    return s;
  }
  unsigned end() const { return first + len; }
  std::uint64_t addr() const { return addr_of(first); }
  std::uint64_t bytes() const { return len * PS; }
};

std::uint8_t any_prot() {
  return *rc::gen::element<std::uint8_t>(PROT_R | PROT_W, PROT_R, PROT_NONE_, PROT_R | PROT_X,
                                         PROT_R | PROT_W | PROT_X);
}

struct do_mmap : command {
  span r = span::any();
  std::uint8_t prot = any_prot();
  unsigned kind = pick(0, 4);  // private, shared, memfd, droppable
  unsigned offset = pick(0, W);
  explicit do_mmap(const ref_model&) {}
  Mmap op() const {
    Mmap m;
    m.addr = r.addr();
    m.len = r.bytes();
    m.prot = prot;
    m.fixed = true;
    m.sharing = kind == 0 ? Sharing::Private : kind == 3 ? Sharing::Droppable : Sharing::Shared;
    if (kind == 2) m.file = FileRef{"a", offset * PS, false};
    return m;
  }
  void apply(ref_model& m) const override {
    unsigned file = 0;
    if (kind == 1) {
      file = unsigned(m.file_pages.size());
      m.file_pages.push_back(r.len);
    } else if (kind == 2) {
      file = 1;
      m.file_pages[1] = std::max<std::uint64_t>(m.file_pages[1], offset + r.len);
    }
    for (unsigned i = r.first; i < r.end(); ++i) {
      m.pages[i] = {};
      m.pages[i].mapped = m.pages[i].fresh = true;
      m.pages[i].prot = prot;
      m.pages[i].shared = kind == 1 || kind == 2;
      m.pages[i].file = file;
      m.pages[i].index = (kind == 2 ? offset : 0) + (i - r.first);
    }
    m.cut(r.first, r.end());
  }
  void run(const ref_model& m0, sut& s) const override {
    RC_ASSERT(s.step(op()) == ok(r.addr()));
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override { os << format_line(Line{0, op(), {}}); }
};

struct do_munmap : command {
  span r = span::any();
  explicit do_munmap(const ref_model&) {}
  void apply(ref_model& m) const override {
    for (unsigned i = r.first; i < r.end(); ++i) m.pages[i] = {};
    m.cut(r.first, r.end());
  }
  void run(const ref_model& m0, sut& s) const override {
    RC_ASSERT(s.step(Munmap{r.addr(), r.bytes()}) == ok(0));
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override { os << format_line(Line{0, Munmap{r.addr(), r.bytes()}, {}}); }
};

struct do_mprotect : command {
  span r = span::any();
  std::uint8_t prot = any_prot();
  explicit do_mprotect(const ref_model&) {}
  // mm/mprotect.c:do_mprotect_pkey changes the VMAs in order and stops with -ENOMEM at the
  // first hole (what it changed before stays changed).
  unsigned reach(const ref_model& m) const {
    unsigned i = r.first;
    while (i < r.end() && m.pages[i].mapped) ++i;
    return i;
  }
  void apply(ref_model& m) const override {
    for (unsigned i = r.first; i < reach(m); ++i) m.pages[i].prot = prot;
    m.mark(r.first, r.end());
  }
  void run(const ref_model& m0, sut& s) const override {
    const Result got = s.step(Mprotect{r.addr(), r.bytes(), prot});
    RC_ASSERT(got == (reach(m0) == r.end() ? ok(0) : err(ENOMEM)));
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override {
    os << format_line(Line{0, Mprotect{r.addr(), r.bytes(), prot}, {}});
  }
};

struct do_mremap : command {
  // A move to a fixed, disjoint destination, of a source range inside one VMA (no possible
  // VMA boundary inside it) -- the mremaps whose outcome the reference model can predict.
  span r = span::any();
  unsigned new_len = pick(1, 5);
  unsigned dst = pick(0, W - new_len + 1);
  explicit do_mremap(const ref_model&) {}
  void checkPreconditions(const ref_model& m) const override {
    for (unsigned i = r.first; i < r.end(); ++i) RC_PRE(m.pages[i].mapped);
    for (unsigned i = r.first + 1; i < r.end(); ++i) RC_PRE(!m.cuts[i]);
    RC_PRE(dst + new_len <= r.first || dst >= r.end());
  }
  Mremap op() const {
    Mremap o;
    o.old_addr = r.addr();
    o.old_len = r.bytes();
    o.new_len = new_len * PS;
    o.maymove = true;
    o.fixed = addr_of(dst);
    return o;
  }
  void apply(ref_model& m) const override {
    // The moved pages keep what happened to them (a store at the source still counts); every
    // page of the destination is new.
    const std::array<page_state, W> src = m.pages;
    for (unsigned i = r.first; i < r.end(); ++i) m.pages[i] = {};
    for (unsigned i = 0; i < new_len; ++i) {
      page_state p = src[r.first];
      p.written = p.zapped = false;
      p.moved_gap = true;  // a grown tail
      p.index = src[r.first].index + i;  // the VMA's file offsets are linear; the file stays
      if (i < r.len) {
        p = src[r.first + i];
        p.moved_gap = p.moved_gap || !p.fresh;  // an exception moves along
      }
      p.fresh = true;
      m.pages[dst + i] = p;
    }
    m.cut(r.first, r.end());
    m.cut(dst, dst + new_len);
  }
  void run(const ref_model& m0, sut& s) const override {
    RC_ASSERT(s.step(op()) == ok(addr_of(dst)));
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override { os << format_line(Line{0, op(), {}}); }
};

struct do_madvise : command {
  span r = span::any();
  Advice advice = *rc::gen::element(Advice::Dontneed, Advice::Free, Advice::Pageout, Advice::Cold,
                                     Advice::Remove, Advice::Willneed, Advice::Normal,
                                     Advice::Random, Advice::Dontfork, Advice::Wipeonfork,
                                     Advice::Hugepage, Advice::Nohugepage);
  explicit do_madvise(const ref_model&) {}
  // Neither stores nor mappings change; a zap loses data, which is not a false negative
  // (nothing to restore), except for shmem, whose page cache keeps it.
  void apply(ref_model& m) const override {
    m.mark(r.first, r.end());
    if (advice == Advice::Dontneed || advice == Advice::Pageout || advice == Advice::Remove ||
        advice == Advice::Free)
      for (unsigned i = r.first; i < r.end(); ++i) m.pages[i].zapped = true;
  }
  void run(const ref_model& m0, sut& s) const override {
    s.step(Madvise{r.addr(), r.bytes(), advice});
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override {
    os << format_line(Line{0, Madvise{r.addr(), r.bytes(), advice}, {}});
  }
};

struct do_access : command {
  span r = span::any();
  bool write = pick(0, 3) != 0;
  explicit do_access(const ref_model&) {}
  // The first page a store (load) may not go through, and what the access returns: an
  // unmapped page or one without PROT_WRITE (any access bit) is SIGSEGV
  // (arch/x86/mm/fault.c:access_error); a shmem page at or beyond the end of its file, which
  // only an mremap that grew the mapping reaches, is SIGBUS (mm/shmem.c:shmem_fault). Such a
  // page is never present, so the access always faults.
  std::pair<unsigned, Result> refused(const ref_model& m) const {
    for (unsigned i = r.first; i < r.end(); ++i) {
      const page_state& p = m.pages[i];
      if (!p.mapped || !(write ? p.prot & PROT_W : p.prot)) return {i, sigsegv()};
      if (p.file && p.index >= m.file_pages[p.file]) return {i, sigbus()};
    }
    return {r.end(), ok(0)};
  }
  unsigned reach(const ref_model& m) const { return refused(m).first; }
  void apply(ref_model& m) const override {
    if (write)
      for (unsigned i = r.first; i < reach(m); ++i) {
        m.pages[i].written = true;
        m.pages[i].zapped = false;  // the store faulted, so the PTE is soft-dirty again
      }
  }
  void run(const ref_model& m0, sut& s) const override {
    const Result got = write ? s.step(Write{r.addr(), r.bytes()}) : s.step(Read{r.addr(), r.bytes()});
    RC_ASSERT(got == refused(m0).second);
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override {
    os << format_line(write ? Line{0, Write{r.addr(), r.bytes()}, {}} : Line{0, Read{r.addr(), r.bytes()}, {}});
  }
};

struct do_clear_refs : command {
  explicit do_clear_refs(const ref_model&) {}
  void apply(ref_model& m) const override {
    for (page_state& p : m.pages) p.written = p.fresh = p.moved_gap = p.zapped = false;
  }
  void run(const ref_model& m0, sut& s) const override {
    RC_ASSERT(s.step(ClearRefs{}) == ok(0));
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override { os << "clear_refs"; }
};

struct do_fork : command {
  explicit do_fork(const ref_model&) {}
  void run(const ref_model& m0, sut& s) const override {
    RC_ASSERT(s.step(Fork{}) == ok(0));
    check_against(m0, s);
  }
  void show(std::ostream& os) const override { os << "fork"; }
};

struct do_reclaim : command {
  span r = span::any();
  bool all = *rc::gen::arbitrary<bool>();
  explicit do_reclaim(const ref_model&) {}
  Reclaim op() const {
    Reclaim c;
    if (!all) c.addr = r.addr(), c.len = r.bytes();
    return c;
  }
  void apply(ref_model& m) const override {
    for (unsigned i = all ? 0 : r.first; i < (all ? W : r.end()); ++i)
      m.pages[i].zapped = true;  // MADV_PAGEOUT (see do_madvise)
  }
  void run(const ref_model& m0, sut& s) const override {
    s.step(op());
    check_against(nextState(m0), s);
  }
  void show(std::ostream& os) const override { os << format_line(Line{0, op(), {}}); }
};

class state_machine : public ::testing::TestWithParam<std::string> {};

TEST_P(state_machine, kernel_follows_the_reference_model) {
  const std::string name = GetParam();
  rc::detail::checkGTest([&] {
    sut s(name, *rc::gen::arbitrary<bool>());
    rc::state::check(ref_model{}, s,
                     rc::state::gen::execOneOfWithArgs<do_mmap, do_mmap, do_munmap, do_mprotect,
                                                       do_mremap, do_madvise, do_access, do_access,
                                                       do_access, do_clear_refs, do_fork,
                                                       do_reclaim>());
  });
}

INSTANTIATE_TEST_SUITE_P(policies, state_machine, ::testing::ValuesIn(policies_but_baseline()),
                         [](const auto& i) { return param_name(i.param); });

}  // namespace
}  // namespace sdmc::props
