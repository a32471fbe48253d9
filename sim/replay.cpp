#include "sim/replay.hpp"

#include <sstream>

namespace sdmc {

using namespace trace;

namespace {
template <class... Ts> struct overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> overloaded(Ts...) -> overloaded<Ts...>;

// The pages overlapping [addr, addr+len): what `expect` ranges and touched ranges mean. The
// parser sizes an expectation's bit string with the same trace::pages_spanned.
prange byte_range(std::uint64_t addr, std::uint64_t len) {
  const pfn_t first = addr_to_pfn(addr);
  return prange(first, first + trace::pages_spanned(addr, len));
}

std::string bits_of(const pset& ones, const prange& r) {
  std::string s;
  s.reserve(r.upper() - r.lower());
  for (pfn_t p = r.lower(); p < r.upper(); ++p) s += boost::icl::contains(ones, p) ? '1' : '0';
  return s;
}

bool is_baseline_kernel(const Trace& t) {
  return !t.kernel || t.kernel->rfind("6.12", 0) == 0;
}
}  // namespace

replayer::replayer(const Trace& t, const policy& pol, replay_options opt)
    : k(pol, t.swap), opt_(opt) {
  if (opt_.oracle) k.obs = &ghost;
  k.mm.droppable = opt_.droppable;
  results.reserve(t.lines.size());
  if (!is_baseline_kernel(t)) opt_.results_are_failures = false;
}

Result replayer::execute(const Line& line, bool* needs_address) {
  return std::visit(
      overloaded{
          [&](const Mmap& o) { return k.sys_mmap(o); },
          [&](const Munmap& o) { return k.sys_munmap(o.addr, o.len); },
          [&](const Brk& o) { return k.sys_brk(o.old_brk, o.new_brk); },
          [&](const Mprotect& o) { return k.sys_mprotect(o.addr, o.len, o.prot); },
          [&](const Mremap& o) {
            std::optional<std::uint64_t> to;
            if (line.expected.kind == Result::Kind::Value) to = line.expected.value;
            return k.sys_mremap(o, to, needs_address);
          },
          [&](const Madvise& o) { return k.sys_madvise(o.addr, o.len, o.advice); },
          [&](const Mlock& o) { return k.sys_mlock(o.addr, o.len, true); },
          [&](const Munlock& o) { return k.sys_mlock(o.addr, o.len, false); },
          [&](const Write& o) { return k.access(o.addr, o.len, true); },
          [&](const Read& o) { return k.access(o.addr, o.len, false); },
          [&](const ClearRefs&) {
            if (opt_.oracle) ghost.observe(k, true);  // a consumer reads the bits, then clears
            return k.clear_refs();
          },
          [&](const UffdWp& o) { return k.uffd_wp(o.addr, o.len, o.remap); },
          [&](const Scan& o) {
            if (opt_.oracle) ghost.observe(k);
            return k.pagemap_scan(o);
          },
          [&](const Reclaim& o) { return k.reclaim(o.addr, o.len); },
          [&](const Fork&) { return k.fork(); },
          [&](const Epoch&) {
            if (opt_.oracle) ghost.observe(k);
            return Result{};
          },
          [&](const Expect&) {
            if (opt_.oracle) ghost.observe(k);
            return Result{};
          },
      },
      line.op);
}

std::string replayer::check_expect(const Expect& e) const {
  const prange r = byte_range(e.addr, e.len);
  if (e.field == Field::Vmas) {
    std::uint64_t n = k.mm.vmas_in(r.lower(), r.upper()).size();
    return n == e.count ? "" : std::to_string(n);
  }
  pset ones;
  switch (e.field) {
    case Field::Sd: ones = k.soft_dirty_pages(r.lower(), r.upper()); break;
    case Field::Present: ones = k.present_pages(r.lower(), r.upper()); break;
    case Field::Swapped: ones = k.swapped_pages(r.lower(), r.upper()); break;
    case Field::Written: ones = k.written_pages(r.lower(), r.upper()); break;
    case Field::Sdscan: ones = k.scan_soft_dirty_pages(r.lower(), r.upper()); break;
    case Field::Vmas: break;
  }
  const std::uint64_t n = r.upper() - r.lower();
  pset want;
  if (e.form == Expect::Form::All1) want += r;
  if (e.form == Expect::Form::Bits)
    for (pfn_t i = 0; i < n && i < e.bits.size(); ++i)
      if (e.bits[i] == '1') want += prange(r.lower() + i, r.lower() + i + 1);
  if (want == ones) return "";
  if (n <= 4096) return bits_of(ones, r);
  std::ostringstream os;  // too long for a string of bits: name the pages that read 1
  os << "1 at";
  for (const auto& iv : ones) os << " [0x" << std::hex << pfn_to_addr(iv.lower()) << ", 0x" << pfn_to_addr(iv.upper()) << ")";
  return os.str();
}

bool replayer::step(const Line& line) {
  bool needs_address = false;
  Result got = execute(line, &needs_address);
  results.push_back(got);
  bool good = true;
  auto report = [&](bool failure, std::string expected, std::string computed) {
    (failure ? failures : differences).push_back({line.lineno, format_line(line), std::move(expected), std::move(computed)});
    good = false;
  };
  if (needs_address) {
    report(opt_.results_are_failures, format_result(line.expected),
           "mremap moves the mapping, but the line gives no `= ADDR` destination");
  } else if (line.expected.kind != Result::Kind::None && !(got == line.expected)) {
    report(opt_.results_are_failures, format_result(line.expected), format_result(got));
  }
  if (auto* e = std::get_if<Expect>(&line.op)) {
    std::string computed = check_expect(*e);
    if (!computed.empty()) {
      std::string expected = e->form == Expect::Form::Bits   ? e->bits
                             : e->form == Expect::Form::All0 ? "all0"
                             : e->form == Expect::Form::All1 ? "all1"
                                                             : std::to_string(e->count);
      report(opt_.expectations_are_failures, expected, computed);
    }
  }
  return good;
}

void replayer::finish() {
  if (opt_.oracle) ghost.observe(k);
}

pset touched_pages(const Trace& t) { return touched_pages(t.lines); }

pset touched_pages(const std::vector<Line>& lines) {
  pset out;
  auto add = [&](std::uint64_t addr, std::uint64_t len) {
    if (len && addr < TASK_SIZE) out += byte_range(addr, std::min<std::uint64_t>(len, TASK_SIZE - addr));
  };
  for (const Line& l : lines) {
    std::visit(overloaded{
                   [&](const Mmap& o) { add(o.addr, o.len); },
                   [&](const Munmap& o) { add(o.addr, o.len); },
                   [&](const Brk& o) { add(std::min(o.old_brk, o.new_brk), o.old_brk > o.new_brk ? o.old_brk - o.new_brk : o.new_brk - o.old_brk); },
                   [&](const Mprotect& o) { add(o.addr, o.len); },
                   [&](const Mremap& o) {
                     add(o.old_addr, std::max(o.old_len, o.new_len));
                     if (o.fixed) add(*o.fixed, o.new_len);
                     else if (l.expected.kind == Result::Kind::Value) add(l.expected.value, o.new_len);
                   },
                   [&](const Madvise& o) { add(o.addr, o.len); },
                   [&](const Mlock& o) { add(o.addr, o.len); },
                   [&](const Munlock& o) { add(o.addr, o.len); },
                   [&](const Write& o) { add(o.addr, o.len); },
                   [&](const Read& o) { add(o.addr, o.len); },
                   [&](const UffdWp& o) { add(o.addr, o.len); },
                   [&](const Scan& o) { add(o.addr, o.len); },
                   [&](const Reclaim& o) { if (o.addr && o.len) add(*o.addr, *o.len); },
                   [&](const Expect& o) { add(o.addr, o.len); },
                   [](const auto&) {},
               },
               l.op);
  }
  return out;
}

}  // namespace sdmc
