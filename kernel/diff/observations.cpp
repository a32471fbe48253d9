#include "kernel/diff/observations.hpp"

#include <algorithm>
#include <charconv>

namespace sdmc {

namespace {

constexpr std::size_t kMaxProblems = 1000;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// "0x..." hexadecimal or decimal, filling the token exactly.
bool parse_u64(std::string_view s, std::uint64_t& out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty() || s.front() == '-' || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty() || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool valid_bits(std::string_view b) {
  return b.size() == 7 && std::all_of(b.begin(), b.end(), [](char c) { return c == '0' || c == '1'; });
}

// Text after the first token of `s` and the space that follows it.
std::string_view after_first_token(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  std::size_t sp = s.find(' ');
  if (sp == std::string_view::npos) return {};
  return s.substr(sp + 1);
}

class obs_parser {
 public:
  obs_boot run(std::string_view text) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      ++line_no_;
      handle(text.substr(pos, nl - pos));
      if (nl == text.size()) break;
      pos = nl + 1;
    }
    if (cur_ >= 0) {
      problem("truncated: trace '" + boot_.traces[cur_].name + "' has no result line");
      close_trace(obs_trace::status::missing);
    }
    if (boot_.obs_version < 0) problem("no 'sdmc version' line");
    bool missing = std::any_of(boot_.traces.begin(), boot_.traces.end(),
                               [](const obs_trace& t) { return t.st == obs_trace::status::missing; });
    boot_.ktap = parse_ktap(text);
    boot_.truncated = boot_.ktap.truncated || missing;
    if (!boot_.truncated && boot_.traces_declared >= 0 && std::size_t(boot_.traces_declared) != boot_.traces.size())
      problem(std::to_string(boot_.traces_declared) + " traces declared, " + std::to_string(boot_.traces.size()) +
              " seen");
    for (const auto& p : boot_.ktap.problems) boot_.problems.push_back("ktap: " + p);
    return std::move(boot_);
  }

 private:
  obs_boot boot_;
  int line_no_ = 0;
  int cur_ = -1;           // open trace (index), -1 if none
  int trace_indent_ = 0;   // indentation of its "trace" line
  int cur_op_ = -1;        // op whose state block is being read, -1 if none
  std::size_t nproblems_ = 0;

  void problem(std::string msg) {
    ++nproblems_;
    if (nproblems_ <= kMaxProblems)
      boot_.problems.push_back("line " + std::to_string(line_no_) + ": " + std::move(msg));
    else if (nproblems_ == kMaxProblems + 1)
      boot_.problems.push_back("... more problems not recorded");
  }

  obs_trace* trace() { return cur_ >= 0 ? &boot_.traces[std::size_t(cur_)] : nullptr; }
  obs_op* op() {
    obs_trace* t = trace();
    return t && cur_op_ >= 0 ? &t->ops[std::size_t(cur_op_)] : nullptr;
  }

  void close_trace(obs_trace::status st) {
    obs_trace& t = boot_.traces[std::size_t(cur_)];
    t.st = st;
    check_pages(t);
    cur_ = -1;
    cur_op_ = -1;
  }

  // Every non-empty state block must cover the observed range exactly, ascending.
  void check_pages(const obs_trace& t) {
    for (const obs_op& o : t.ops) {
      if (o.pages.empty()) continue;
      std::vector<std::pair<std::uint64_t, std::uint64_t>> covered;
      bool order = true;
      for (const obs_pg& p : o.pages) {
        std::uint64_t end = p.start + p.npages * obs_page_size;
        if (!covered.empty() && p.start < covered.back().second) order = false;
        if (!covered.empty() && covered.back().second == p.start)
          covered.back().second = end;
        else
          covered.emplace_back(p.start, end);
      }
      if (!order)
        problem("trace '" + t.name + "' op line " + std::to_string(o.line) + ": pg runs not ascending");
      else if (covered != t.range)
        problem("trace '" + t.name + "' op line " + std::to_string(o.line) +
                ": pg runs do not cover the observed range exactly");
    }
  }

  void handle(std::string_view raw) {
    ktap_line l = classify_ktap_line(strip_printk_prefix(raw));
    if (l.kind == ktap_line::result) {
      on_result(l);
      return;
    }
    if (l.kind != ktap_line::diagnostic) return;
    std::string_view b = l.body;
    while (!b.empty() && (b.front() == ' ' || b.front() == '\t')) b.remove_prefix(1);
    while (!b.empty() && (b.back() == ' ' || b.back() == '\t' || b.back() == '\r')) b.remove_suffix(1);
    if (!starts_with(b, "# sdmc ")) return;
    std::string_view rest = b.substr(7);
    std::vector<std::string_view> tok = split_spaces(rest);
    if (tok.empty()) return;
    on_obs(tok, after_first_token(rest), l.indent);
  }

  void on_result(const ktap_line& l) {
    obs_trace* t = trace();
    if (!t || l.indent > trace_indent_) return;
    if (l.indent < trace_indent_) {
      problem("trace '" + t->name + "' has no result line (a shallower result line came first)");
      close_trace(obs_trace::status::missing);
      return;
    }
    if (l.name != t->name) problem("result line for '" + std::string(l.name) + "' ends trace '" + t->name + "'");
    obs_trace::status st = l.ok ? obs_trace::status::ok : obs_trace::status::not_ok;
    std::string_view d = l.directive;
    auto is = [&](std::string_view w) {
      return d.size() >= w.size() && std::equal(w.begin(), w.end(), d.begin(), [](char a, char c) {
               return a == (c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
             });
    };
    if (is("skip")) {
      st = obs_trace::status::skip;
      if (t->skip_reason.empty()) t->skip_reason = std::string(l.reason);
    }
    close_trace(st);
  }

  bool need_trace(std::string_view kind) {
    if (trace()) return true;
    problem("'" + std::string(kind) + "' line outside a trace");
    return false;
  }

  bool num(std::string_view s, int& out, std::string_view what) {
    if (parse_int(s, out)) return true;
    problem("bad " + std::string(what) + " '" + std::string(s.substr(0, 40)) + "'");
    return false;
  }

  bool addr(std::string_view s, std::uint64_t& out, std::string_view what) {
    if (parse_u64(s, out)) return true;
    problem("bad " + std::string(what) + " '" + std::string(s.substr(0, 40)) + "'");
    return false;
  }

  bool arity(const std::vector<std::string_view>& tok, std::size_t n) {
    if (tok.size() >= n) return true;
    problem("'" + std::string(tok[0]) + "' line with " + std::to_string(tok.size() - 1) + " tokens, expected " +
            std::to_string(n - 1));
    return false;
  }

  void on_obs(const std::vector<std::string_view>& tok, std::string_view after_kind, int indent) {
    std::string_view kind = tok[0];
    if (kind == "version") {
      if (boot_.obs_version >= 0) problem("a second 'version' line");
      int v = -1;
      for (std::size_t i = 1; i < tok.size(); ++i) {
        if (starts_with(tok[i], "obs=")) {
          if (!parse_int(tok[i].substr(4), v)) problem("bad obs= '" + std::string(tok[i]) + "'");
        } else if (starts_with(tok[i], "kernel=")) {
          boot_.kernel = std::string(tok[i].substr(7));
        } else if (starts_with(tok[i], "source=")) {
          std::size_t at = after_kind.find(" source=");
          std::string_view src = starts_with(after_kind, "source=") ? after_kind.substr(7)
                                 : at != std::string_view::npos      ? after_kind.substr(at + 8)
                                                                     : tok[i].substr(7);
          boot_.source = std::string(src);
          break;
        }
      }
      if (v != 1) problem("observation format obs=" + std::to_string(v) + " (this parser knows 1)");
      boot_.obs_version = v;
    } else if (kind == "traces") {
      if (arity(tok, 2)) num(tok[1], boot_.traces_declared, "trace count");
    } else if (kind == "stats") {
      boot_.stats = std::string(after_kind);
    } else if (kind == "note") {
      // informational
    } else if (kind == "trace") {
      if (obs_trace* t = trace()) {
        problem("trace '" + t->name + "' has no result line before the next trace");
        close_trace(obs_trace::status::missing);
      }
      obs_trace t;
      t.name = std::string(after_kind);
      t.log_line = line_no_;
      boot_.traces.push_back(std::move(t));
      cur_ = int(boot_.traces.size()) - 1;
      trace_indent_ = indent;
      cur_op_ = -1;
    } else if (kind == "ops") {
      if (need_trace(kind) && arity(tok, 2)) num(tok[1], trace()->ops_declared, "op count");
    } else if (kind == "range") {
      std::uint64_t s, e;
      if (need_trace(kind) && arity(tok, 3) && addr(tok[1], s, "range start") && addr(tok[2], e, "range end")) {
        if (s >= e || s % obs_page_size || e % obs_page_size) problem("range not page aligned or empty");
        auto& r = trace()->range;
        if (!r.empty() && s <= r.back().second) problem("range lines not ascending, disjoint and non-adjacent");
        r.emplace_back(s, e);
      }
    } else if (kind == "skip") {
      if (need_trace(kind)) trace()->skip_reason = std::string(after_kind);
    } else if (kind == "error") {
      if (need_trace(kind)) trace()->errors.emplace_back(after_kind);
    } else if (kind == "op") {
      cur_op_ = -1;
      obs_op o;
      if (need_trace(kind) && arity(tok, 4) && num(tok[1], o.line, "op line")) {
        o.kind = std::string(tok[2]);
        o.result = std::string(tok[3]);
        trace()->ops.push_back(std::move(o));
        cur_op_ = int(trace()->ops.size()) - 1;
      }
    } else if (kind == "mismatch") {
      int ln;
      if (need_trace(kind) && arity(tok, 2) && num(tok[1], ln, "mismatch line")) trace()->mismatches.push_back(ln);
    } else if (kind == "expect") {
      cur_op_ = -1;
      obs_expect x;
      if (need_trace(kind) && arity(tok, 3) && num(tok[1], x.line, "expect line")) {
        if (tok[2] == "ok") {
          x.ok = true;
        } else if (tok[2] == "FAIL") {
          for (std::size_t i = 3; i < tok.size(); ++i)
            if (starts_with(tok[i], "got=")) x.got = std::string(tok[i].substr(4));
        } else {
          problem("expect line neither ok nor FAIL");
          return;
        }
        trace()->expects.push_back(std::move(x));
      }
    } else if (kind == "end") {
      int n;
      if (need_trace(kind) && arity(tok, 2) && num(tok[1], n, "failure count")) trace()->end_failures = n;
      cur_op_ = -1;
    } else if (kind == "vma") {
      if (!need_trace(kind)) return;
      if (!op()) {
        problem("'vma' line outside a state block");
        return;
      }
      obs_vma v;
      if (!arity(tok, 4) || !addr(tok[1], v.start, "vma start") || !addr(tok[2], v.end, "vma end")) return;
      if (tok[3] != "-") {
        std::string_view f = tok[3];
        std::size_t i = 0;
        while (i <= f.size()) {
          std::size_t c = f.find(',', i);
          if (c == std::string_view::npos) c = f.size();
          if (c > i) v.flags.emplace_back(f.substr(i, c - i));
          i = c + 1;
        }
      }
      for (std::size_t i = 4; i < tok.size(); ++i) {
        std::size_t eq = tok[i].find('=');
        if (eq == std::string_view::npos || eq == 0) continue;  // not key=value: ignored
        v.keys[std::string(tok[i].substr(0, eq))] = std::string(tok[i].substr(eq + 1));
      }
      op()->vmas.push_back(std::move(v));
    } else if (kind == "pg") {
      if (!need_trace(kind)) return;
      if (!op()) {
        problem("'pg' line outside a state block");
        return;
      }
      obs_pg p;
      if (!arity(tok, 4) || !addr(tok[1], p.start, "pg start") || !addr(tok[2], p.npages, "pg count")) return;
      if (!valid_bits(tok[3])) {
        problem("pg bits '" + std::string(tok[3].substr(0, 20)) + "' are not 7 binary digits");
        return;
      }
      if (p.start % obs_page_size || p.npages == 0 || p.npages > (UINT64_MAX - p.start) / obs_page_size) {
        problem("pg run not page aligned, empty or past the address space");
        return;
      }
      p.bits = std::string(tok[3]);
      for (std::size_t i = 4; i < tok.size(); ++i) {
        if (!starts_with(tok[i], "sdscan=")) continue;  // other tokens: ignored
        std::string_view v = tok[i].substr(7);
        if (v != "0" && v != "1") {
          problem("pg sdscan '" + std::string(v.substr(0, 20)) + "' is not 0 or 1");
          return;
        }
        p.sdscan = v[0];
      }
      op()->pages.push_back(std::move(p));
    }
    // unknown kinds: ignored (forward compatibility)
  }
};

}  // namespace

const obs_op* obs_trace::find_op(int trace_line) const {
  for (const obs_op& o : ops)
    if (o.line == trace_line) return &o;
  return nullptr;
}

const char* to_string(obs_trace::status s) {
  switch (s) {
    case obs_trace::status::ok: return "ok";
    case obs_trace::status::not_ok: return "not ok";
    case obs_trace::status::skip: return "skip";
    case obs_trace::status::missing: return "missing";
  }
  return "?";
}

obs_boot parse_observations(std::string_view ktap_text) { return obs_parser{}.run(ktap_text); }

std::vector<obs_pg> merged_pages(const obs_op& op) {
  std::vector<obs_pg> out;
  for (const obs_pg& p : op.pages) {
    if (!out.empty() && out.back().bits == p.bits && out.back().sdscan == p.sdscan &&
        out.back().start + out.back().npages * obs_page_size == p.start)
      out.back().npages += p.npages;
    else
      out.push_back(p);
  }
  return out;
}

namespace {

const obs_pg* pg_at(const obs_op& op, std::uint64_t addr) {
  std::uint64_t page = addr - addr % obs_page_size;
  // runs are ascending: binary search for the last run starting at or below `page`
  auto it = std::upper_bound(op.pages.begin(), op.pages.end(), page,
                             [](std::uint64_t a, const obs_pg& p) { return a < p.start; });
  if (it != op.pages.begin()) {
    const obs_pg& p = *std::prev(it);
    if ((page - p.start) / obs_page_size < p.npages) return &p;
  }
  // not ascending (malformed input): linear fallback
  for (const obs_pg& p : op.pages)
    if (page >= p.start && (page - p.start) / obs_page_size < p.npages) return &p;
  return nullptr;
}

}  // namespace

std::string bits_at(const obs_op& op, std::uint64_t addr) {
  const obs_pg* p = pg_at(op, addr);
  return p ? p->bits : std::string();
}

char sdscan_at(const obs_op& op, std::uint64_t addr) {
  const obs_pg* p = pg_at(op, addr);
  return p ? p->sdscan : 0;
}

std::map<std::uint64_t, std::string> expand_pages(const obs_op& op, std::size_t max_pages) {
  std::map<std::uint64_t, std::string> out;
  for (const obs_pg& p : merged_pages(op))
    for (std::uint64_t i = 0; i < p.npages && out.size() < max_pages; ++i)
      out.emplace(p.start + i * obs_page_size, p.bits);
  return out;
}

}  // namespace sdmc
