// Trace -> canonical sdtrace v1 text. Canonical means: one spelling per value (addresses in hex,
// lengths as Np when page-multiples, defaults omitted), so write(parse(write(t))) == write(t).
#include <charconv>

#include "traces/names.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::trace {
namespace {

std::string number(std::uint64_t v, int base) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v, base);
  return std::string(buf, r.ptr);
}
std::string hex(std::uint64_t v) { return "0x" + number(v, 16); }
std::string dec(std::uint64_t v) { return number(v, 10); }
// 16384 -> "4p", 4097 -> "4097"; zero stays "0" rather than "0p".
std::string length(std::uint64_t v) {
  if (v != 0 && v % kPageSize == 0) return dec(v / kPageSize) + "p";
  return dec(v);
}

// Appends the arguments of each operation, each preceded by a space.
struct ArgWriter {
  std::string& out;

  void add(std::string_view s) {
    out += ' ';
    out += s;
  }
  void range(std::uint64_t addr, std::uint64_t len) {
    add(hex(addr));
    add(length(len));
  }

  void operator()(const Mmap& m) {
    range(m.addr, m.len);
    add(prot_string(m.prot));
    add(sharing_name(m.sharing));
    if (m.file) {
      add("file=" + m.file->name + "@" + length(m.file->offset));
      if (m.file->ro) add("ro");
    }
    if (m.fixed) add("fixed");
    if (m.populate) add("populate");
    if (m.noreserve) add("noreserve");
    if (m.stack) add("stack");
  }
  void operator()(const Munmap& m) { range(m.addr, m.len); }
  void operator()(const Brk& b) {
    add(hex(b.old_brk));
    add(hex(b.new_brk));
  }
  void operator()(const Mprotect& m) {
    range(m.addr, m.len);
    add(prot_string(m.prot));
  }
  void operator()(const Mremap& m) {
    range(m.old_addr, m.old_len);
    add(length(m.new_len));
    if (m.maymove) add("maymove");
    if (m.fixed) add("fixed " + hex(*m.fixed));
    if (m.dontunmap) add("dontunmap");
  }
  void operator()(const Madvise& m) {
    range(m.addr, m.len);
    add(advice_name(m.advice));
  }
  void operator()(const Mlock& m) { range(m.addr, m.len); }
  void operator()(const Munlock& m) { range(m.addr, m.len); }
  void operator()(const Write& w) { access(w.addr, w.len); }
  void operator()(const Read& r) { access(r.addr, r.len); }
  void operator()(const ClearRefs&) {}
  void operator()(const UffdWp& u) {
    range(u.addr, u.len);
    if (u.remap) add("remap");
  }
  void operator()(const Scan& s) {
    range(s.addr, s.len);
    if (s.wp) add("wp");
    if (s.max_pages != 0) add("max=" + dec(s.max_pages));
    if (s.vec_len) add("vec=" + dec(*s.vec_len));
  }
  void operator()(const Reclaim& r) {
    if (r.addr) add(hex(*r.addr));
    if (r.len) add(length(*r.len));
  }
  void operator()(const Fork&) {}
  void operator()(const Epoch&) {}
  void operator()(const Expect& e) {
    add(field_name(e.field));
    range(e.addr, e.len);
    switch (e.form) {
      case Expect::Form::Bits: add(e.bits); break;
      case Expect::Form::All0: add("all0"); break;
      case Expect::Form::All1: add("all1"); break;
      case Expect::Form::Count: add(dec(e.count)); break;
    }
  }

 private:
  void access(std::uint64_t addr, std::uint64_t len) {
    add(hex(addr));
    if (len != 1) add(length(len));
  }
};

}  // namespace

std::string format_result(const Result& r) {
  switch (r.kind) {
    case Result::Kind::None: return "";
    case Result::Kind::Value: return r.value < kPageSize ? dec(r.value) : hex(r.value);
    case Result::Kind::Errno: {
      std::string_view name = errno_name(r.err);
      return name.empty() ? "-" + std::to_string(r.err) : "-" + std::string(name);
    }
    case Result::Kind::Sigsegv: return "SIGSEGV";
    case Result::Kind::Sigbus: return "SIGBUS";
  }
  return "";
}

std::string format_line(const Line& l) {
  std::string out(op_name(l.op));
  std::visit(ArgWriter{out}, l.op);
  if (l.expected.kind != Result::Kind::None) out += " = " + format_result(l.expected);
  return out;
}

std::string write(const Trace& t) {
  std::string out = "sdtrace 1\n";
  if (t.kernel) out += "kernel " + *t.kernel + "\n";
  if (t.swap) out += "swap on\n";
  for (const Line& l : t.lines) out += format_line(l) + "\n";
  return out;
}

}  // namespace sdmc::trace
