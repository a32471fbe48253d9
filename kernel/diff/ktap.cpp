#include "kernel/diff/ktap.hpp"

#include <charconv>
#include <string>
#include <utility>

namespace sdmc {

namespace {

constexpr int kMaxDepth = 64;              // deeper lines are noise (keeps the tree small)
constexpr std::size_t kMaxProblems = 1000; // then one "... more" line

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool istarts_with(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (lower(s[i]) != lower(p[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses a non-negative decimal int that fills `s` exactly.
bool parse_int(std::string_view s, int& out) {
  if (s.empty() || !is_digit(s.front())) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Leading decimal digits of s (for "ok N name").
std::string_view leading_digits(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  return s.substr(0, n);
}

ktap_line make_malformed(ktap_line l, std::string_view why) {
  l.kind = ktap_line::malformed;
  l.text = why;
  return l;
}

ktap_line classify_result(ktap_line l, std::string_view rest) {
  // rest: after "ok" / "not ok"
  if (rest.empty() || rest.front() != ' ') return make_malformed(l, "result line without a test number");
  rest.remove_prefix(1);
  std::string_view digits = leading_digits(rest);
  if (digits.empty() || !parse_int(digits, l.number))
    return make_malformed(l, "result line without a valid test number");
  rest.remove_prefix(digits.size());
  if (!rest.empty() && rest.front() != ' ') return make_malformed(l, "result line: junk after the test number");
  rest = trim(rest);
  if (starts_with(rest, "- ")) rest.remove_prefix(2);  // TAP 13 "ok 1 - name"
  std::size_t hash = rest.find('#');
  std::string_view name = rest, dir;
  if (hash != std::string_view::npos) {
    name = rest.substr(0, hash);
    dir = trim(rest.substr(hash + 1));
  }
  l.name = trim(name);
  if (!dir.empty()) {
    std::size_t w = 0;
    while (w < dir.size() && dir[w] != ' ' && dir[w] != '\t' && dir[w] != ':') ++w;
    l.directive = dir.substr(0, w);
    std::string_view r = dir.substr(w);
    if (!r.empty() && r.front() == ':') r.remove_prefix(1);
    l.reason = trim(r);
    if (!istarts_with(l.directive, "skip") && !istarts_with(l.directive, "todo")) {
      l.directive = {};  // not a directive: keep the whole text as the reason
      l.reason = dir;
    }
  }
  l.kind = ktap_line::result;
  return l;
}

}  // namespace

const char* to_string(ktap_test::result_kind r) {
  switch (r) {
    case ktap_test::ok: return "ok";
    case ktap_test::not_ok: return "not ok";
    case ktap_test::skip: return "skip";
    case ktap_test::todo: return "todo";
    case ktap_test::missing: return "missing";
  }
  return "?";
}

std::string_view strip_printk_prefix(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  // "<N>" log level (from /dev/kmsg-like dumps)
  if (s.size() >= 3 && s[0] == '<' && is_digit(s[1])) {
    std::size_t i = 1;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i < s.size() && s[i] == '>') s.remove_prefix(i + 1);
  }
  // "[   12.345678] " time stamp, then an optional "[    T1] " / "[ C0] " caller id
  for (int round = 0; round < 2; ++round) {
    if (s.empty() || s.front() != '[') break;
    std::size_t i = 1;
    while (i < s.size() && s[i] == ' ') ++i;
    bool ok = false;
    if (round == 0) {
      std::size_t d = i;
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i > d && i < s.size() && s[i] == '.') {
        std::size_t f = ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
        ok = i > f;
      }
    } else {
      if (i < s.size() && (s[i] == 'T' || s[i] == 'C')) {
        std::size_t d = ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
        ok = i > d;
      }
    }
    if (!ok || i >= s.size() || s[i] != ']') break;
    s.remove_prefix(i + 1);
    if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  }
  return s;
}

ktap_line classify_ktap_line(std::string_view s) {
  ktap_line l;
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  std::size_t ind = 0;
  while (ind < s.size() && s[ind] == ' ') ++ind;
  l.indent = ind > 1000000 ? 1000000 : int(ind);
  std::string_view b = s.substr(ind);
  l.body = b;
  while (!b.empty() && (b.back() == ' ' || b.back() == '\t')) b.remove_suffix(1);
  if (b.empty()) {
    l.kind = ktap_line::blank;
    return l;
  }
  if (starts_with(b, "KTAP version ") || starts_with(b, "TAP version ")) {
    std::string_view v = trim(b.substr(b.find(' ', 2) + 9));  // after "version "
    if (!parse_int(v, l.number)) return make_malformed(l, "version line without a number");
    l.kind = ktap_line::version;
    return l;
  }
  if (starts_with(b, "1..")) {
    if (!parse_int(b.substr(3), l.number)) return make_malformed(l, "plan line without a number");
    l.kind = ktap_line::plan;
    return l;
  }
  if (starts_with(b, "ok") && (b.size() == 2 || b[2] == ' ')) {
    l.ok = true;
    return classify_result(l, b.substr(2));
  }
  if (starts_with(b, "not ok") && (b.size() == 6 || b[6] == ' ')) {
    l.ok = false;
    return classify_result(l, b.substr(6));
  }
  if (b.front() == '#') {
    std::string_view t = b.substr(1);
    if (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    if (starts_with(t, "Subtest:")) {
      l.kind = ktap_line::subtest;
      l.name = trim(t.substr(8));
      return l;
    }
    l.kind = ktap_line::diagnostic;
    l.text = t;
    return l;
  }
  l.kind = ktap_line::unknown;
  return l;
}

namespace {

bool kernel_trouble(std::string_view b) {
  static constexpr std::string_view pats[] = {
      "Kernel panic", "kernel BUG at", "BUG: ", "Oops: ", "WARNING: ", "general protection fault",
      "Unable to handle kernel"};
  for (auto p : pats)
    if (b.find(p) != std::string_view::npos) return true;
  return false;
}

class parser {
 public:
  ktap_log run(std::string_view text) {
    frames_.push_back(frame{});
    frames_.back().t.result = ktap_test::ok;
    std::size_t pos = 0;
    int lineno = 0;
    while (pos <= text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      ++lineno;
      line_no_ = lineno;
      handle(text.substr(pos, nl - pos));
      if (nl == text.size()) break;
      pos = nl + 1;
    }
    finish();
    return std::move(log_);
  }

 private:
  struct frame {
    ktap_test t;
    std::vector<std::string> pending;  // diagnostics not yet given to a test
    bool header = false;               // "KTAP version" seen for this level
    bool content = false;              // plan, results or subtests seen
  };

  std::vector<frame> frames_;
  ktap_log log_;
  int line_no_ = 0;
  bool seen_ktap_ = false;
  std::string last_result_;  // "'name' (line N)" of the last result line

  void problem(std::string msg) {
    if (log_.problems.size() < kMaxProblems)
      log_.problems.push_back("line " + std::to_string(line_no_) + ": " + std::move(msg));
    else if (log_.problems.size() == kMaxProblems)
      log_.problems.push_back("... more problems not recorded");
  }

  static std::string describe(const ktap_test& t) {
    return "'" + (t.name.empty() ? std::string("?") : t.name) + "' (depth " + std::to_string(t.depth) + ")";
  }

  int depth() const { return frames_.back().t.depth; }

  static void flush(frame& f) {
    for (auto& d : f.pending) f.t.diagnostics.push_back(std::move(d));
    f.pending.clear();
  }

  void push(int d) {
    flush(frames_.back());
    frames_.back().content = true;
    frame f;
    f.t.depth = d;
    frames_.push_back(std::move(f));
  }

  // Pushes frames until the top has depth d (d > depth()).
  void push_to(int d, bool header_line) {
    if (d > depth() + 1) problem("KTAP line nested " + std::to_string(d - depth()) + " levels deeper than its parent");
    while (depth() < d) push(depth() + 1);
    frames_.back().header = header_line;
  }

  // Closes the top frame (not the root). With `missing`, no result line was seen.
  void pop(bool missing, const ktap_line* res, bool at_end) {
    frame f = std::move(frames_.back());
    frames_.pop_back();
    frame& parent = frames_.back();
    if (missing) {
      f.t.result = ktap_test::missing;
      if (!at_end) problem("test " + describe(f.t) + " has no result line");
    } else {
      set_result(f.t, *res, parent);
    }
    fill_plan(f, missing && at_end);
    flush(f);
    if (missing) f.t.number = int(parent.t.subtests.size()) + 1;
    parent.t.subtests.push_back(std::move(f.t));
    parent.content = true;
  }

  // Adds `missing` placeholders for planned tests that never reported.
  void fill_plan(frame& f, bool give_pending) {
    if (f.t.plan < 0 || int(f.t.subtests.size()) >= f.t.plan) {
      if (f.t.plan >= 0 && int(f.t.subtests.size()) > f.t.plan)
        problem("test " + describe(f.t) + " planned " + std::to_string(f.t.plan) + " tests, ran " +
                std::to_string(f.t.subtests.size()));
      return;
    }
    problem("test " + describe(f.t) + " planned " + std::to_string(f.t.plan) + " tests, got " +
            std::to_string(f.t.subtests.size()) + " results");
    int have = int(f.t.subtests.size());
    int add = f.t.plan - have;
    if (add > 10000) add = 10000;  // absurd plans in garbage input
    for (int i = 0; i < add; ++i) {
      ktap_test m;
      m.number = have + i + 1;
      m.depth = f.t.depth + 1;
      m.result = ktap_test::missing;
      if (i == 0 && give_pending) {
        m.diagnostics = std::move(f.pending);
        f.pending.clear();
      }
      f.t.subtests.push_back(std::move(m));
    }
  }

  void set_result(ktap_test& t, const ktap_line& l, const frame& parent) {
    t.number = l.number;
    std::string name(l.name);
    if (!t.name.empty() && !name.empty() && t.name != name)
      problem("result name '" + name + "' differs from the subtest header '" + t.name + "'");
    if (!name.empty()) t.name = std::move(name);
    t.line = line_no_;
    if (istarts_with(l.directive, "skip"))
      t.result = ktap_test::skip;
    else if (istarts_with(l.directive, "todo"))
      t.result = ktap_test::todo;
    else
      t.result = l.ok ? ktap_test::ok : ktap_test::not_ok;
    t.directive_reason = std::string(l.reason);
    int expected = int(parent.t.subtests.size()) + 1;
    if (l.number != expected)
      problem("test '" + t.name + "' has number " + std::to_string(l.number) + ", expected " + std::to_string(expected));
    last_result_ = "'" + t.name + "' (line " + std::to_string(line_no_) + ")";
  }

  void close_deeper_than(int d) {
    while (depth() > d) pop(true, nullptr, false);
  }

  void handle(std::string_view raw) {
    ktap_line l = classify_ktap_line(strip_printk_prefix(raw));
    if (l.kind == ktap_line::blank) return;
    if (l.kind == ktap_line::unknown) {
      ++log_.noise_lines;
      if (kernel_trouble(l.body)) problem("kernel: " + std::string(l.body.substr(0, 200)));
      return;
    }
    if (l.kind == ktap_line::malformed) {
      problem(std::string(l.text) + ": " + std::string(l.body.substr(0, 200)));
      return;
    }
    int L = l.indent / 4;
    if (l.indent % 4 != 0 && l.kind != ktap_line::diagnostic)
      problem("indentation of " + std::to_string(l.indent) + " spaces is not a multiple of 4");
    if (L > kMaxDepth) {
      problem("nesting deeper than " + std::to_string(kMaxDepth) + " levels ignored");
      return;
    }
    switch (l.kind) {
      case ktap_line::version: on_version(l, L); break;
      case ktap_line::subtest: on_subtest(l, L); break;
      case ktap_line::plan: on_plan(l, L); break;
      case ktap_line::result: on_result(l, L); break;
      case ktap_line::diagnostic: frames_.back().pending.emplace_back(l.text); break;
      default: break;
    }
  }

  void on_version(const ktap_line& l, int L) {
    if (l.number != 1) problem("KTAP version " + std::to_string(l.number) + " (this parser knows 1)");
    if (L == 0 && !seen_ktap_) log_.version = l.number;
    seen_ktap_ = true;
    if (L == depth() && !frames_.back().header && !frames_.back().content) {
      frames_.back().header = true;
      return;
    }
    if (L > depth()) {
      push_to(L, true);
      return;
    }
    if (L == 0) {
      problem("a second top-level KTAP version line (another log?) ignored");
      return;
    }
    close_deeper_than(L - 1);
    push_to(L, true);
  }

  void on_subtest(const ktap_line& l, int L) {
    seen_ktap_ = true;
    frame& top = frames_.back();
    if (L == depth() && top.t.name.empty() && !top.content) {
      top.t.name = std::string(l.name);
      return;
    }
    if (L > depth()) {
      push_to(L, false);
      frames_.back().t.name = std::string(l.name);
      return;
    }
    if (L == 0) {
      problem("a second top-level Subtest header ignored");
      return;
    }
    close_deeper_than(L - 1);
    push_to(L, false);
    frames_.back().t.name = std::string(l.name);
  }

  void on_plan(const ktap_line& l, int L) {
    seen_ktap_ = true;
    if (L > depth()) push_to(L, false);
    else if (L < depth()) close_deeper_than(L);
    frame& top = frames_.back();
    if (top.t.plan >= 0)
      problem("a second plan for test " + describe(top.t));
    else
      top.t.plan = l.number;
    top.content = true;
  }

  void on_result(const ktap_line& l, int L) {
    seen_ktap_ = true;
    if (L + 1 < depth()) close_deeper_than(L + 1);
    if (L == depth() - 1) {
      pop(false, &l, false);
      return;
    }
    if (L > depth()) push_to(L, false);
    // a leaf test of the top frame
    frame& top = frames_.back();
    ktap_test t;
    t.depth = L + 1;
    set_result(t, l, top);
    t.diagnostics = std::move(top.pending);
    top.pending.clear();
    top.t.subtests.push_back(std::move(t));
    top.content = true;
  }

  void finish() {
    ++line_no_;
    if (!seen_ktap_) {
      log_.problems.push_back("no KTAP output");
      log_.truncated = true;
    }
    if (frames_.size() > 1) {
      std::string open;
      for (std::size_t i = frames_.size() - 1; i >= 1; --i) {
        if (!open.empty()) open += ", ";
        open += describe(frames_[i].t);
      }
      log_.problems.push_back("truncated: no result line for " + open + "; last result seen: " +
                              (last_result_.empty() ? std::string("none") : last_result_));
      log_.truncated = true;
      while (frames_.size() > 1) pop(true, nullptr, true);
    }
    frame& root = frames_.back();
    if (seen_ktap_ && root.t.plan < 0) log_.problems.push_back("no top-level plan");
    if (root.t.plan >= 0 && int(root.t.subtests.size()) < root.t.plan) log_.truncated = true;
    fill_plan(root, true);
    flush(root);
    log_.root = std::move(root.t);
  }
};

}  // namespace

ktap_log parse_ktap(std::string_view text) { return parser{}.run(text); }

}  // namespace sdmc
