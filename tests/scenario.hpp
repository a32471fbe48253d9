// A small fixture for scenario tests in the style of the kernel's tools/testing/vma: each test
// builds an address space with the same system calls a userspace program would make, inside a
// PROT_NONE guard reservation so that nothing else can merge, and then checks what the kernel
// would report (pagemap bits, PAGEMAP_SCAN's PAGE_IS_WRITTEN, VMA layout and vm_flags, PTE bits).
//
//   scenario s;                                   // Linux 6.12.117: the upstream-6.12 policy
//   const u64 g = s.guard(8);                     // mmap(G, 8p, PROT_NONE, private)
//   EXPECT_EQ(s.mmap(g + 1 * ps, 1, "rw-"), ok(g + 1 * ps));
//   s.write(g + 1 * ps);
//   s.clear_refs();
//   s.expect_sd(g + 1 * ps, "0");
//
// Every operation goes through an sdtrace line, trace::parse and the replayer, exactly as a
// trace file would (so the ghost oracle observes it too); s.k is the kernel for direct calls.
// Lengths of the helpers are in pages; PROT is written as in /proc/PID/maps ("rw-").
// The expected values in the tests come from shared/kernel-6.12-semantics.md and the 6.12
// sources it cites, never from running the model.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <source_location>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "model/policy.hpp"
#include "sim/kernel.hpp"
#include "sim/oracle.hpp"
#include "sim/replay.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::trace {
// gtest prints results the way a trace writes them: 0x100001000, -EINVAL, SIGSEGV.
inline void PrintTo(const Result& r, std::ostream* os) {
  *os << (r.kind == Result::Kind::None ? std::string("(no result)") : format_result(r));
}
}  // namespace sdmc::trace

namespace sdmc {
inline void PrintTo(const pagemap_entry& e, std::ostream* os) {
  *os << "{sd " << e.soft_dirty << ", exclusive " << e.exclusive << ", uffd_wp " << e.uffd_wp
      << ", file " << e.file << ", swapped " << e.swapped << ", present " << e.present
      << ", written " << e.written << ", sdscan " << e.sdscan << "}";
}
inline void PrintTo(const oracle_counts& c, std::ostream* os) {
  *os << "{false_negatives " << c.false_negatives << ", lost_new_mappings "
      << c.lost_new_mappings << ", false_positives " << c.false_positives << "}";
}
}  // namespace sdmc

namespace sdmc::test {

using u64 = std::uint64_t;
using loc_t = std::source_location;

inline constexpr u64 ps = 4096;                 // PAGE_SIZE
inline constexpr u64 G = 0x100000000;           // default guard reservation (2 MiB aligned)
inline constexpr u64 PMD = 0x200000;            // one PTE table maps 2 MiB

inline std::string hex(u64 v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

namespace detail {
inline std::string text_of(u64 v) { return hex(v); }
inline std::string text_of(int v) { return std::to_string(v); }
inline std::string text_of(std::string_view v) { return std::string(v); }
inline std::string text_of(const char* v) { return v; }
inline std::string text_of(const std::string& v) { return v; }
}  // namespace detail

// line("mmap {} 1p rw- private fixed = {}", a, a): each {} takes the next argument, numbers in hex.
template <class... A>
std::string line(std::string_view fmt, const A&... args) {
  std::vector<std::string> parts{detail::text_of(args)...};
  std::string out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == '{' && i + 1 < fmt.size() && fmt[i + 1] == '}' && next < parts.size()) {
      out += parts[next++];
      ++i;
    } else {
      out += fmt[i];
    }
  }
  return out;
}

inline pfn_t pfn(u64 addr) { return addr_to_pfn(addr); }

// scenario s{under{"granular"}}: the same fixture under another design.
struct under {
  std::string policy;
};

class scenario {
  // Declared first: k and ghost below refer into the replayer.
  std::unique_ptr<policy> pol_;
  trace::Trace header_;
  std::unique_ptr<replayer> r_;

 public:
  // `swap`: the trace's `swap on`; `kernel`: the trace's `kernel RELEASE` header.
  explicit scenario(bool swap = false, std::optional<std::string> kernel_release = std::nullopt)
      : pol_(make_policy("upstream-6.12")), header_(make_header(swap, kernel_release)),
        r_(std::make_unique<replayer>(header_, *pol_)), k(r_->k), ghost(r_->ghost) {}
  explicit scenario(under u, bool swap = false)
      : pol_(make_policy(u.policy)), header_(make_header(swap, std::nullopt)),
        r_(std::make_unique<replayer>(header_, *pol_, replay_options{false, false, true})),
        k(r_->k), ghost(r_->ghost) {}

  kernel& k;
  oracle& ghost;
  replayer& rep() { return *r_; }

  // --- set-up ---------------------------------------------------------------------------
  // A PROT_NONE private reservation of `pages` pages at `at` (MAP_FIXED_NOREPLACE): the guard
  // of semantics section 9, so that the VMAs of a test merge only with each other.
  u64 guard(u64 pages, u64 at = G, loc_t loc = loc_t::current()) {
    Result r = op(line("mmap {} {}p --- private", at, pages), loc);
    if (!(r == ok(at))) ADD_FAILURE_AT(loc.file_name(), loc.line()) << "guard reservation failed";
    return at;
  }

  // --- sdtrace text -----------------------------------------------------------------------
  // Runs lines of sdtrace operations (no `sdtrace 1` header) through trace::parse and the
  // replayer; every `= RESULT` and `expect` on them must hold. Returns the results.
  std::vector<Result> run(std::string_view text, loc_t loc = loc_t::current()) {
    trace::Trace t;
    try {
      t = trace::parse("sdtrace 1\n" + std::string(text), "scenario.sdt");
    } catch (const trace::ParseError& e) {
      ADD_FAILURE_AT(loc.file_name(), loc.line()) << "sdtrace does not parse: " << e.what();
      return {};
    }
    std::vector<Result> out;
    for (const trace::Line& l : t.lines) {
      const std::size_t before = r_->failures.size();
      r_->step(l);
      out.push_back(r_->results.back());
      for (std::size_t i = before; i < r_->failures.size(); ++i) {
        const check_failure& f = r_->failures[i];
        ADD_FAILURE_AT(loc.file_name(), loc.line())
            << "line " << (f.line - 1) << " `" << f.op << "`: expected " << f.expected
            << ", the model computed " << f.computed;
      }
    }
    return out;
  }
  // One operation line; returns what the kernel returned.
  Result op(std::string_view text, loc_t loc = loc_t::current()) {
    std::vector<Result> rs = run(text, loc);
    if (rs.size() != 1) {
      ADD_FAILURE_AT(loc.file_name(), loc.line()) << "expected exactly one operation: " << text;
      return Result{};
    }
    return rs.front();
  }
  // The end-of-trace observation of the ghost oracle.
  void finish() { r_->finish(); }

  // --- system calls (lengths in pages) ----------------------------------------------------
  // FLAGS as in the trace: "private fixed", "shared file=m@1p fixed", "droppable", ...
  // (without `fixed` the kernel gets MAP_FIXED_NOREPLACE).
  Result mmap(u64 addr, u64 pages, std::string_view prot, std::string_view flags = "private fixed",
              loc_t loc = loc_t::current()) {
    return op(line("mmap {} {}p {} {}", addr, pages, prot, flags), loc);
  }
  Result munmap(u64 addr, u64 pages, loc_t loc = loc_t::current()) {
    return op(line("munmap {} {}p", addr, pages), loc);
  }
  Result mprotect(u64 addr, u64 pages, std::string_view prot, loc_t loc = loc_t::current()) {
    return op(line("mprotect {} {}p {}", addr, pages, prot), loc);
  }
  // FLAGS: "", "maymove", "maymove dontunmap fixed 0x...", ...; a move without `fixed` needs
  // the destination: pass it as `= 0x...` in FLAGS.
  Result mremap(u64 old_addr, u64 old_pages, u64 new_pages, std::string_view flags = "",
                loc_t loc = loc_t::current()) {
    return op(line("mremap {} {}p {}p {}", old_addr, old_pages, new_pages, flags), loc);
  }
  Result mremap_fixed(u64 old_addr, u64 old_pages, u64 new_pages, u64 new_addr,
                      loc_t loc = loc_t::current()) {
    return op(line("mremap {} {}p {}p maymove fixed {}", old_addr, old_pages, new_pages, new_addr), loc);
  }
  Result madvise(u64 addr, u64 pages, std::string_view advice, loc_t loc = loc_t::current()) {
    return op(line("madvise {} {}p {}", addr, pages, advice), loc);
  }
  Result mlock(u64 addr, u64 pages, loc_t loc = loc_t::current()) {
    return op(line("mlock {} {}p", addr, pages), loc);
  }
  Result munlock(u64 addr, u64 pages, loc_t loc = loc_t::current()) {
    return op(line("munlock {} {}p", addr, pages), loc);
  }
  Result brk(u64 old_brk, u64 new_brk, loc_t loc = loc_t::current()) {
    return op(line("brk {} {}", old_brk, new_brk), loc);
  }
  Result write(u64 addr, u64 pages = 1, loc_t loc = loc_t::current()) {
    return op(line("write {} {}p", addr, pages), loc);
  }
  Result read(u64 addr, u64 pages = 1, loc_t loc = loc_t::current()) {
    return op(line("read {} {}p", addr, pages), loc);
  }
  Result clear_refs(loc_t loc = loc_t::current()) { return op("clear_refs", loc); }
  Result uffd_wp(u64 addr, u64 pages, loc_t loc = loc_t::current()) {
    return op(line("uffd_wp {} {}p", addr, pages), loc);
  }
  // The same, with the trace's context created with UFFD_FEATURE_EVENT_REMAP.
  Result uffd_wp_remap(u64 addr, u64 pages, loc_t loc = loc_t::current()) {
    return op(line("uffd_wp {} {}p remap", addr, pages), loc);
  }
  // OPTS: "", "wp", "max=2", "vec=0", ...
  Result scan(u64 addr, u64 pages, std::string_view opts = "", loc_t loc = loc_t::current()) {
    return op(line("scan {} {}p {}", addr, pages, opts), loc);
  }
  Result reclaim(u64 addr, u64 pages, loc_t loc = loc_t::current()) {
    return op(line("reclaim {} {}p", addr, pages), loc);
  }
  Result reclaim_all(loc_t loc = loc_t::current()) { return op("reclaim", loc); }
  Result fork(loc_t loc = loc_t::current()) { return op("fork", loc); }

  // --- observation ------------------------------------------------------------------------
  // One character per page of [addr, addr + pages*ps): pagemap bit 55, 63, 62, 57, 56, 61 and
  // PAGEMAP_SCAN's PAGE_IS_WRITTEN and PAGE_IS_SOFT_DIRTY, read through kernel::pagemap();
  // where the model also has an interval form (soft_dirty_pages, present_pages, ...), the two
  // must agree.
  std::string sd(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::soft_dirty); }
  std::string present(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::present); }
  std::string swapped(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::swapped); }
  std::string written(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::written); }
  std::string sdscan(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::sdscan); }
  std::string uffd_wp_bits(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::uffd_wp); }
  std::string exclusive(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::exclusive); }
  std::string file(u64 addr, u64 pages) { return bits(addr, pages, &pagemap_entry::file); }

  std::string bits(u64 addr, u64 pages, bool pagemap_entry::*field) {
    std::string out;
    for (u64 i = 0; i < pages; ++i) out += k.pagemap(pfn(addr) + i).*field ? '1' : '0';
    const pfn_t s = pfn(addr), e = s + pages;
    std::optional<pset> ones;
    if (field == &pagemap_entry::soft_dirty) ones = k.soft_dirty_pages(s, e);
    if (field == &pagemap_entry::present) ones = k.present_pages(s, e);
    if (field == &pagemap_entry::swapped) ones = k.swapped_pages(s, e);
    if (field == &pagemap_entry::written) ones = k.written_pages(s, e);
    if (field == &pagemap_entry::sdscan) ones = k.scan_soft_dirty_pages(s, e);
    if (ones) {
      std::string other;
      for (pfn_t p = s; p < e; ++p) other += boost::icl::contains(*ones, p) ? '1' : '0';
      EXPECT_EQ(out, other) << "kernel::pagemap() and the interval query disagree at " << hex(addr);
    }
    return out;
  }
  // The number of VMAs intersecting [addr, addr + pages*ps), as `expect vmas` counts them.
  std::size_t vmas(u64 addr, u64 pages) { return k.mm.vmas_in(pfn(addr), pfn(addr) + pages).size(); }
  // The VMA containing addr (a failed test when there is none).
  vma_ref vma(u64 addr, loc_t loc = loc_t::current()) {
    auto v = k.mm.find_vma(pfn(addr));
    if (!v) {
      ADD_FAILURE_AT(loc.file_name(), loc.line()) << "no VMA at " << hex(addr);
      return vma_ref{};
    }
    return *v;
  }
  vm_flags_t flags(u64 addr, loc_t loc = loc_t::current()) { return vma(addr, loc).flags(); }
  pte_t pte(u64 addr) { return k.mm.pte_at(pfn(addr)); }

  // --- readable assertions ----------------------------------------------------------------
  void expect_sd(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("sd (pagemap bit 55)", sd(addr, want.size()), want, addr, loc);
  }
  void expect_present(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("present (pagemap bit 63)", present(addr, want.size()), want, addr, loc);
  }
  void expect_swapped(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("swapped (pagemap bit 62)", swapped(addr, want.size()), want, addr, loc);
  }
  void expect_written(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("written (PAGE_IS_WRITTEN)", written(addr, want.size()), want, addr, loc);
  }
  void expect_sdscan(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("sdscan (PAGE_IS_SOFT_DIRTY)", sdscan(addr, want.size()), want, addr, loc);
  }
  void expect_uffd_wp(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("uffd-wp (pagemap bit 57)", uffd_wp_bits(addr, want.size()), want, addr, loc);
  }
  void expect_exclusive(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("exclusive (pagemap bit 56)", exclusive(addr, want.size()), want, addr, loc);
  }
  void expect_file(u64 addr, std::string_view want, loc_t loc = loc_t::current()) {
    expect_bits("file/shared (pagemap bit 61)", file(addr, want.size()), want, addr, loc);
  }
  void expect_vmas(u64 addr, u64 pages, std::size_t want, loc_t loc = loc_t::current()) {
    std::size_t got = vmas(addr, pages);
    if (got != want)
      ADD_FAILURE_AT(loc.file_name(), loc.line())
          << "VMAs intersecting [" << hex(addr) << ", +" << pages << "p): expected " << want
          << ", the model has " << got;
  }
  // The VMA at addr spans exactly [start, end).
  void expect_vma(u64 addr, u64 start, u64 end, loc_t loc = loc_t::current()) {
    vma_ref v = vma(addr, loc);
    if (pfn_to_addr(v.vm_start) != start || pfn_to_addr(v.vm_end) != end)
      ADD_FAILURE_AT(loc.file_name(), loc.line())
          << "VMA at " << hex(addr) << ": expected [" << hex(start) << ", " << hex(end)
          << "), the model has [" << hex(pfn_to_addr(v.vm_start)) << ", "
          << hex(pfn_to_addr(v.vm_end)) << ")";
  }
  // vm_flags of the VMA at addr: every bit of `set` set, every bit of `clear` clear.
  void expect_flags(u64 addr, vm_flags_t set, vm_flags_t clear = 0, loc_t loc = loc_t::current()) {
    vm_flags_t f = flags(addr, loc);
    if ((f & set) != set || (f & clear) != 0)
      ADD_FAILURE_AT(loc.file_name(), loc.line())
          << "vm_flags at " << hex(addr) << " are [" << vm_flags_smaps(f) << "]; wanted set ["
          << vm_flags_smaps(set) << "] and clear [" << vm_flags_smaps(clear) << "]";
  }
  // vm_flags of the VMA at addr are exactly `want`.
  void expect_flags_exactly(u64 addr, vm_flags_t want, loc_t loc = loc_t::current()) {
    vm_flags_t f = flags(addr, loc);
    if (f != want)
      ADD_FAILURE_AT(loc.file_name(), loc.line())
          << "vm_flags at " << hex(addr) << " are [" << vm_flags_smaps(f) << "], expected ["
          << vm_flags_smaps(want) << "]";
  }

 private:
  static trace::Trace make_header(bool swap, const std::optional<std::string>& release) {
    trace::Trace t;
    t.path = "scenario.sdt";
    t.swap = swap;
    t.kernel = release;
    return t;
  }
  static void expect_bits(std::string_view what, const std::string& got, std::string_view want,
                          u64 addr, loc_t loc) {
    if (got != want)
      ADD_FAILURE_AT(loc.file_name(), loc.line())
          << what << " from " << hex(addr) << ": expected " << want << ", the model reports " << got;
  }
};

// vm_flags of a new private anonymous mapping before VM_ACCOUNT / VM_SOFTDIRTY
// (mm/mmap.c:do_mmap: calc_vm_prot_bits | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC).
inline constexpr vm_flags_t VM_MAY = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

}  // namespace sdmc::test
