// sdtrace v1 text -> Trace. Line by line: the version line, then headers, then operations; the
// first malformed token ends the parse with a ParseError naming file:line:column.
#include <algorithm>
#include <climits>
#include <exception>
#include <utility>

#include "traces/lexer.hpp"
#include "traces/names.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::trace {
namespace {

using lex::NumError;
using lex::NumForm;
using lex::quoted;
using lex::Token;

// What a number stands for: decides its syntax and how an error describes it.
struct Role {
  NumForm form;
  std::string_view what;
};
constexpr Role kAddress{NumForm::Plain, "an address like 0x1000"};
constexpr Role kLength{NumForm::Scaled, "a length like 4096, 0x1000, 16K or 4p"};
constexpr Role kOffset{NumForm::Scaled, "an offset like 0 or 4p"};
constexpr Role kMaxPages{NumForm::Plain, "a page count like 16"};
constexpr Role kVecLen{NumForm::Plain, "a vector length like 16"};
constexpr Role kResult{NumForm::Plain, "a result (a number, -ENAME, SIGSEGV or SIGBUS)"};
constexpr Role kVmaCount{NumForm::Decimal, "a VMA count like 2"};

// An Op holding a default-constructed alternative number i, so that parsing can std::visit it.
template <std::size_t... I>
Op default_op(std::size_t i, std::index_sequence<I...>) {
  static constexpr Op (*kMake[])() = {[]() -> Op { return Op(std::in_place_index<I>); }...};
  return kMake[i]();
}

bool valid_file_name(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '/' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return !s.empty();
}

// The tokens of one non-blank line, consumed left to right.
class LineParser {
 public:
  LineParser(const std::string& file, int lineno, const std::vector<Token>& toks)
      : file_(file), lineno_(lineno), toks_(toks) {}

  [[noreturn]] void fail(int col, const std::string& msg) const {
    throw ParseError(file_, lineno_, col, msg);
  }
  [[noreturn]] void expected(const Token& t, std::string_view what) const {
    fail(t.col, "expected " + std::string(what) + ", got " + quoted(t.text));
  }

  bool done() const { return pos_ == toks_.size(); }
  bool next_is(std::string_view s) const { return !done() && toks_[pos_].text == s; }
  // True while optional keywords may follow: not at the end and not at `= RESULT`.
  bool more_keywords() const { return !done() && toks_[pos_].text != "="; }

  // The next token; only when !done(), e.g. after more_keywords().
  Token next() { return toks_[pos_++]; }
  Token take(std::string_view what) {
    if (done()) {
      const Token& last = toks_.back();
      fail(last.col + static_cast<int>(last.text.size()),
           "expected " + std::string(what) + ", got end of line");
    }
    return next();
  }
  void end(std::string_view what) {
    if (!done()) expected(toks_[pos_], what);
  }

  // A number in `text`, which starts at column `col` (inside a token for file=, max=, vec=).
  std::uint64_t number(std::string_view text, int col, Role role) const {
    lex::Number n = lex::parse_number(text, role.form);
    if (n.error == NumError::None) return n.value;  // the message is built only for errors
    std::string got = "expected " + std::string(role.what) + ", got " + quoted(text);
    switch (n.error) {
      case NumError::None: return n.value;
      case NumError::Syntax: fail(col, got);
      case NumError::Overflow: fail(col, got + ", which does not fit in 64 bits");
      case NumError::SuffixNotAllowed:
        fail(col, got + " (only a length or offset takes a K/M/G/p suffix)");
      case NumError::NotDecimal: fail(col, got + " (a count is decimal)");
    }
    fail(col, got);
  }
  std::uint64_t number(Role role) {
    Token t = take(role.what);
    return number(t.text, t.col, role);
  }

  // Each optional keyword may appear once.
  void once(bool seen, const Token& t, std::string_view keyword) const {
    if (seen) fail(t.col, "duplicate keyword " + quoted(keyword));
  }
  void flag(bool& seen, const Token& t) const {
    once(seen, t, t.text);
    seen = true;
  }

  std::uint8_t prot() {
    Token t = take("a protection like rw- or ---");
    if (auto p = prot_from_string(t.text)) return *p;
    expected(t, "a protection like rw- or ---");
  }

  // --- operation arguments, one overload per operation ---

  void args(Mmap& m) {
    range(m.addr, m.len);
    m.prot = prot();
    Token s = take("private, shared or droppable");
    auto sharing = sharing_from_name(s.text);
    if (!sharing) expected(s, "private, shared or droppable");
    m.sharing = *sharing;
    // `ro` belongs to file= but may stand anywhere among the keywords; resolved after the loop.
    bool ro = false;
    int ro_col = 0;
    while (more_keywords()) {
      Token t = next();
      if (t.text.starts_with("file=")) {
        once(m.file.has_value(), t, "file=");
        m.file = file_ref(t);
      } else if (t.text == "ro") {
        flag(ro, t);
        ro_col = t.col;
      } else if (t.text == "fixed") {
        flag(m.fixed, t);
      } else if (t.text == "populate") {
        flag(m.populate, t);
      } else if (t.text == "noreserve") {
        flag(m.noreserve, t);
      } else if (t.text == "stack") {
        flag(m.stack, t);
      } else {
        expected(t, "file=NAME@OFFSET, ro, fixed, populate, noreserve, stack or \"= RESULT\"");
      }
    }
    if (ro && !m.file) fail(ro_col, "\"ro\" is only valid with file=NAME@OFFSET");
    if (ro) m.file->ro = true;
  }
  void args(Munmap& m) { range(m.addr, m.len); }
  void args(Brk& b) {
    b.old_brk = number(kAddress);
    b.new_brk = number(kAddress);
  }
  void args(Mprotect& m) {
    range(m.addr, m.len);
    m.prot = prot();
  }
  void args(Mremap& m) {
    m.old_addr = number(kAddress);
    m.old_len = number(kLength);
    m.new_len = number(kLength);
    while (more_keywords()) {
      Token t = next();
      if (t.text == "maymove") {
        flag(m.maymove, t);
      } else if (t.text == "fixed") {
        once(m.fixed.has_value(), t, "fixed");
        m.fixed = number(kAddress);
      } else if (t.text == "dontunmap") {
        flag(m.dontunmap, t);
      } else {
        expected(t, "maymove, fixed NEW, dontunmap or \"= RESULT\"");
      }
    }
  }
  void args(Madvise& m) {
    range(m.addr, m.len);
    Token t = take("an advice like dontneed");
    auto a = advice_from_name(t.text);
    if (!a) expected(t, "an advice like dontneed (an MADV_ name in lower case)");
    m.advice = *a;
  }
  void args(Mlock& m) { range(m.addr, m.len); }
  void args(Munlock& m) { range(m.addr, m.len); }
  void args(Write& w) { access(w.addr, w.len); }
  void args(Read& r) { access(r.addr, r.len); }
  void args(ClearRefs&) {}
  void args(UffdWp& u) {
    range(u.addr, u.len);
    while (more_keywords()) {
      Token t = next();
      if (t.text != "remap") expected(t, "remap or \"= RESULT\"");
      flag(u.remap, t);
    }
  }
  void args(Scan& s) {
    range(s.addr, s.len);
    bool max_seen = false;
    while (more_keywords()) {
      Token t = next();
      if (t.text == "wp") {
        flag(s.wp, t);
      } else if (t.text.starts_with("max=")) {
        once(max_seen, t, "max=");
        max_seen = true;
        s.max_pages = number(t.text.substr(4), t.col + 4, kMaxPages);
      } else if (t.text.starts_with("vec=")) {
        once(s.vec_len.has_value(), t, "vec=");
        s.vec_len = number(t.text.substr(4), t.col + 4, kVecLen);
      } else {
        expected(t, "wp, max=N, vec=N or \"= RESULT\"");
      }
    }
  }
  void args(Reclaim& r) {
    if (!more_keywords()) return;  // the whole address space
    r.addr = number(kAddress);
    r.len = number(kLength);
  }
  void args(Fork&) {}
  void args(Epoch&) {}
  void args(Expect& e) {
    Token f = take("a field: sd, present, swapped, written, sdscan or vmas");
    auto field = field_from_name(f.text);
    if (!field) expected(f, "a field: sd, present, swapped, written, sdscan or vmas");
    e.field = *field;
    range(e.addr, e.len);
    if (e.field == Field::Vmas) {
      e.count = number(kVmaCount);
      e.form = Expect::Form::Count;
      return;
    }
    Token v = take("a bit string like 0110, all0 or all1");
    if (v.text == "all0" || v.text == "all1") {
      e.form = v.text == "all0" ? Expect::Form::All0 : Expect::Form::All1;
      return;
    }
    if (v.text.find_first_not_of("01") != std::string_view::npos)
      expected(v, "a bit string like 0110 (one 0/1 per page), all0 or all1");
    std::uint64_t pages = pages_spanned(e.addr, e.len);
    if (v.text.size() != pages)
      fail(v.col, "expected " + std::to_string(pages) + " bits, one per page of [ADDR, ADDR+LEN), got " +
                      std::to_string(v.text.size()));
    e.form = Expect::Form::Bits;
    e.bits = std::string(v.text);
  }

  // `= RESULT` or nothing, then the end of the line.
  Result result(const Op& op) {
    bool takes_result = !std::holds_alternative<Expect>(op) && !std::holds_alternative<Epoch>(op);
    if (!takes_result) {
      if (next_is("=")) fail(toks_[pos_].col, std::string(op_name(op)) + " takes no \"= RESULT\"");
      end("end of line");
      return {};
    }
    if (done()) return {};
    Token eq = next();
    if (eq.text != "=") expected(eq, "\"= RESULT\" or end of line");
    Token t = take(kResult.what);
    Result r;
    if (t.text == "SIGSEGV" || t.text == "SIGBUS") {
      if (!std::holds_alternative<Read>(op) && !std::holds_alternative<Write>(op))
        fail(t.col, std::string(t.text) + " is a result only of read or write");
      r.kind = t.text == "SIGSEGV" ? Result::Kind::Sigsegv : Result::Kind::Sigbus;
    } else if (t.text.starts_with('-')) {
      auto err = errno_from_name(t.text.substr(1));
      if (!err) expected(t, "an errno name like -EINVAL");
      r.kind = Result::Kind::Errno;
      r.err = *err;
    } else {
      r.kind = Result::Kind::Value;
      r.value = number(t.text, t.col, kResult);
    }
    end("end of line after the result");
    return r;
  }

  Line operation(std::size_t index) {
    Line line;
    line.lineno = lineno_;
    line.op = default_op(index, std::make_index_sequence<std::variant_size_v<Op>>{});
    std::visit([this](auto& op) { args(op); }, line.op);
    line.expected = result(line.op);
    return line;
  }

 private:
  void range(std::uint64_t& addr, std::uint64_t& len) {
    addr = number(kAddress);
    len = number(kLength);
  }
  // `write ADDR [LEN]`: LEN keeps its default of 1 byte when absent.
  void access(std::uint64_t& addr, std::uint64_t& len) {
    addr = number(kAddress);
    if (more_keywords()) len = number(kLength);
  }
  FileRef file_ref(const Token& t) {
    std::string_view spec = t.text.substr(5);  // after "file="
    std::size_t at = spec.find('@');
    if (at == std::string_view::npos) expected(t, "file=NAME@OFFSET");
    FileRef f;
    f.name = std::string(spec.substr(0, at));
    if (!valid_file_name(f.name))
      fail(t.col + 5, "expected a file name of [A-Za-z0-9._/+-], got " + quoted(f.name));
    f.offset = number(spec.substr(at + 1), t.col + 5 + static_cast<int>(at) + 1, kOffset);
    return f;
  }

  const std::string& file_;
  int lineno_;
  const std::vector<Token>& toks_;
  std::size_t pos_ = 0;
};

// Line-to-line state: version seen, where each header was, where the first operation was.
struct State {
  bool version = false;
  int kernel_line = 0, swap_line = 0, first_op_line = 0;
  int first_uffd_line = 0;  // the uffd_wp that creates the context, and its features
  bool uffd_remap = false;
};

// The trace has one userfaultfd context, created by its first uffd_wp: a later one asking for
// other features would need a second context, which the format does not have.
void uffd_features(LineParser& p, const UffdWp& u, int lineno, int col, State& st) {
  if (!st.first_uffd_line) {
    st.first_uffd_line = lineno;
    st.uffd_remap = u.remap;
  } else if (u.remap != st.uffd_remap) {
    p.fail(col, std::string("uffd_wp ") + (u.remap ? "with" : "without") +
                  " remap, but the context was created " + (st.uffd_remap ? "with" : "without") +
                  " it on line " + std::to_string(st.first_uffd_line) +
                  " (every uffd_wp of a trace agrees on remap)");
  }
}

void header(LineParser& p, const Token& key, int lineno, State& st, Trace& t) {
  int& seen = key.text == "kernel" ? st.kernel_line : st.swap_line;
  if (seen)
    p.fail(key.col, "duplicate " + quoted(key.text) + " header (first on line " +
                        std::to_string(seen) + ")");
  if (st.first_op_line)
    p.fail(key.col, quoted(key.text) + " header after the first operation (line " +
                        std::to_string(st.first_op_line) + "); headers come first");
  seen = lineno;
  if (key.text == "kernel") {
    t.kernel = std::string(p.take("a kernel release like 6.12.0").text);
  } else {
    Token v = p.take("on or off");
    if (v.text != "on" && v.text != "off") p.expected(v, "on or off");
    t.swap = v.text == "on";
  }
  p.end("end of line");
}

}  // namespace

struct reader::state {
  State st;
  int lineno = 0;
  std::vector<Token> toks;  // reused for every line
  std::exception_ptr pending;  // a ParseError held back while the lines before it go out
};

reader::reader(std::string_view text, std::string filename)
    : text_(text), st_(std::make_unique<state>()) {
  head_.path = std::move(filename);
  // Line numbers and columns are ints; no real trace comes near this.
  if (text.size() > static_cast<std::size_t>(INT_MAX))
    throw ParseError(head_.path, 0, 0, "file too large (over 2 GiB)");
}

reader::~reader() = default;

bool reader::read(std::vector<Line>& out, std::size_t max) {
  out.clear();
  if (st_->pending) std::rethrow_exception(std::exchange(st_->pending, nullptr));
  try {
    return read_lines(out, max);
  } catch (const ParseError&) {
    // The lines before the bad one go out first; the error comes with the next read.
    if (out.empty()) throw;
    st_->pending = std::current_exception();
    return true;
  }
}

bool reader::read_lines(std::vector<Line>& out, std::size_t max) {
  State& st = st_->st;
  int& lineno = st_->lineno;
  const std::string& filename = head_.path;
  const std::string_view text = text_;
  std::size_t pos = pos_;
  while (pos < text.size() && out.size() < max) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view raw = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    lex::tokenize(raw, st_->toks);
    if (st_->toks.empty()) continue;
    LineParser p(filename, lineno, st_->toks);
    Token key = p.next();
    // Operations first: they are nearly every line.
    if (st.version) {
      if (auto index = op_index(key.text)) {
        if (!st.first_op_line) st.first_op_line = lineno;
        Line line = p.operation(*index);
        if (auto* u = std::get_if<UffdWp>(&line.op)) uffd_features(p, *u, lineno, key.col, st);
        out.push_back(std::move(line));
        continue;
      }
    }
    if (!st.version) {
      if (key.text != "sdtrace") p.expected(key, "\"sdtrace 1\" first");
      Token v = p.take("the version 1");
      if (v.text != "1") p.expected(v, "the version 1 (this reader knows sdtrace 1 only)");
      p.end("end of line");
      st.version = true;
    } else if (key.text == "sdtrace") {
      p.fail(key.col, "duplicate \"sdtrace\" line: only the first line names the version");
    } else if (key.text == "kernel" || key.text == "swap") {
      header(p, key, lineno, st, head_);
    } else {
      p.expected(key, "an operation like mmap or write");
    }
  }
  pos_ = pos;
  if (pos >= text.size() && !st.version)
    throw ParseError(filename, lineno + 1, 1, "expected \"sdtrace 1\", got end of file");
  return !out.empty();
}

Trace parse(std::string_view text, const std::string& filename) {
  reader r(text, filename);
  Trace t;
  // At most one operation per line, and an operation line takes at least 5 bytes ("fork\n"):
  // reserving avoids moving every Line as the vector grows.
  const std::size_t cap =
      std::min<std::size_t>(std::count(text.begin(), text.end(), '\n'), text.size() / 5) + 1;
  t.lines.reserve(cap);
  r.read(t.lines, cap);
  std::vector<Line> rest;
  r.read(rest, 1);  // nothing is left but a held-back ParseError, which this throws
  t.path = r.headers().path;
  t.kernel = r.headers().kernel;
  t.swap = r.headers().swap;
  return t;
}

}  // namespace sdmc::trace
