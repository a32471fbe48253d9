#include "viz/draw.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "model/policy.hpp"
#include "sim/replay.hpp"
#include "viz/build.hpp"

namespace sdmc::viz {

namespace {

// Forwards every report of the kernel to the oracle (all of observer's hooks: the oracle's
// judgement must be the replay's own) and keeps what one operation mapped anew or moved.
class recorder : public observer {
 public:
  explicit recorder(observer& next) : next_(next) {}
  pset fresh;                  // mapped anew by the operation
  std::optional<prange> from;  // an mremap move: its source ...
  std::int64_t by = 0;         // ... and the offset to its destination, in pages
  void clear() {
    fresh.clear();
    from.reset();
    by = 0;
  }
  void stored(pfn_t s, pfn_t e) override { next_.stored(s, e); }
  void mapped_new(pfn_t s, pfn_t e) override {
    fresh += prange(s, e);
    next_.mapped_new(s, e);
  }
  void unmapped(pfn_t s, pfn_t e) override { next_.unmapped(s, e); }
  void cleared_refs() override { next_.cleared_refs(); }
  void wp_reset(pfn_t s, pfn_t e) override { next_.wp_reset(s, e); }
  void moved(pfn_t src, pfn_t src_pages, pfn_t dst, pfn_t dst_pages) override {
    fresh += prange(dst, dst + dst_pages);
    from = prange(src, src + src_pages);
    by = std::int64_t(dst) - std::int64_t(src);
    next_.moved(src, src_pages, dst, dst_pages);
  }
  void grown_in_place(pfn_t s, pfn_t e) override {
    fresh += prange(s, e);
    next_.grown_in_place(s, e);
  }
  void moved_with_pte(pfn_t s, pfn_t e) override { next_.moved_with_pte(s, e); }
  void sd_reset(pfn_t s, pfn_t e) override { next_.sd_reset(s, e); }
  void zapped_kept(pfn_t s, pfn_t e) override { next_.zapped_kept(s, e); }

 private:
  observer& next_;
};

// One policy's replay, stepped line by line.
struct run {
  std::string name;
  std::unique_ptr<policy> pol;
  std::unique_ptr<replayer> r;
  std::unique_ptr<recorder> rec;
};

std::vector<run> start(const trace::Trace& t, const std::vector<std::string>& names) {
  if (names.empty()) throw draw_error("no policy to draw");
  std::vector<run> runs;
  for (const std::string& n : names) {
    run x;
    x.name = n;
    x.pol = make_policy(n);
    if (!x.pol) {
      std::string known;
      for (const std::string& k : policy_names()) known += (known.empty() ? "" : ", ") + k;
      throw draw_error(fmt::format("unknown policy '{}' (known: {})", n, known));
    }
    replay_options opt;
    opt.expectations_are_failures = opt.results_are_failures = false;
    x.r = std::make_unique<replayer>(t, *x.pol, opt);
    x.rec = std::make_unique<recorder>(x.r->ghost);
    x.r->k.obs = x.rec.get();
    runs.push_back(std::move(x));
  }
  return runs;
}

void check_line(const loaded_trace& lt, const char* option, int line) {
  if (line < 1 || line > lt.lines)
    throw draw_error(fmt::format("{} {} is outside {}, which has lines 1-{}", option, line,
                                 lt.t.path, lt.lines));
}

bool is_operation(const trace::Line& l) {
  return !std::holds_alternative<trace::Expect>(l.op) && !std::holds_alternative<trace::Epoch>(l.op);
}

std::string op_text(const trace::Line& l) { return fmt::format("line {}: {}", l.lineno, trace::format_line(l)); }

// What the model computed, where it says more than the line itself.
std::string computed_note(const trace::Line& l, const std::vector<run>& runs) {
  std::string note;
  for (const run& x : runs) {
    const trace::Result& got = x.r->results.back();
    const bool refused = got.kind == trace::Result::Kind::Errno ||
                         got.kind == trace::Result::Kind::Sigsegv ||
                         got.kind == trace::Result::Kind::Sigbus;
    const bool differs = l.expected.kind != trace::Result::Kind::None ? !(got == l.expected) : refused;
    if (!differs) continue;
    note += runs.size() > 1 ? fmt::format("  [{}: {}]", x.name, trace::format_result(got))
                            : fmt::format("  [model: {}]", trace::format_result(got));
  }
  return note;
}

step_effects effects(const run& x) {
  step_effects fx;
  fx.mapped_new = x.rec->fresh;
  fx.moved_from = x.rec->from;
  fx.moved_by = x.rec->by;
  return fx;
}

graph snapshot(const loaded_trace& lt, const draw_request& req) {
  std::vector<run> runs = start(lt.t, req.policies);
  const trace::Line* last = nullptr;
  for (const trace::Line& l : lt.t.lines) {
    if (req.at && l.lineno > *req.at) break;
    for (run& x : runs) x.r->step(l);
    if (is_operation(l)) last = &l;
  }
  panel p;
  for (run& x : runs) p.lanes.push_back(capture(x.r->k, x.r->ghost, x.name));
  std::string where = last ? "after " + op_text(*last) : "before its first operation";
  if (req.at && (!last || last->lineno != *req.at)) where = fmt::format("at line {}, {}", *req.at, where);
  return build(fmt::format("{} {}", lt.t.path, where), {p});
}

graph storyboard(const loaded_trace& lt, const draw_request& req) {
  std::vector<run> runs = start(lt.t, req.policies);
  const int from = req.from.value_or(1), to = req.to.value_or(lt.lines);
  std::vector<panel> panels;
  bool before = false;  // some operation ran before `from`
  for (const trace::Line& l : lt.t.lines) {
    if (l.lineno > to) break;
    if (l.lineno < from) {
      for (run& x : runs) x.r->step(l);
      before = before || is_operation(l);
      continue;
    }
    if (panels.empty() && before) {
      panel p;
      p.caption = fmt::format("before line {}", from);
      for (run& x : runs) p.lanes.push_back(capture(x.r->k, x.r->ghost, x.name));
      panels.push_back(std::move(p));
    }
    for (run& x : runs) {
      x.rec->clear();
      x.r->step(l);
    }
    if (!is_operation(l)) continue;
    panel p;
    p.caption = op_text(l) + computed_note(l, runs);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      p.lanes.push_back(capture(runs[i].r->k, runs[i].r->ghost, runs[i].name));
      if (!panels.empty())
        p.links.push_back(lineage(panels.back().lanes[i], p.lanes.back(), effects(runs[i])));
    }
    panels.push_back(std::move(p));
  }
  if (panels.empty() || (before && panels.size() == 1))
    throw draw_error(fmt::format("{} has no operation on lines {}-{} to draw", lt.t.path, from, to));
  return build(fmt::format("{}: one panel per operation, lines {}-{}", lt.t.path, from, to), panels);
}

}  // namespace

loaded_trace load_trace(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream text;
  if (f) text << f.rdbuf();
  if (!f || std::filesystem::is_directory(path))
    throw draw_error(fmt::format("cannot read {}: {}", path,
                                 std::filesystem::is_directory(path) ? "is a directory" : std::strerror(errno)));
  loaded_trace lt;
  const std::string s = text.str();
  try {
    lt.t = trace::parse(s, path);
  } catch (const trace::ParseError& e) {
    throw draw_error(e.what());
  }
  lt.lines = int(std::count(s.begin(), s.end(), '\n')) + (!s.empty() && s.back() != '\n');
  return lt;
}

graph draw(const loaded_trace& lt, const draw_request& req) {
  if (req.storyboard && req.at)
    throw draw_error("--at draws one point and --storyboard every operation: give one of them "
                     "(--from/--to limit a storyboard)");
  if (!req.storyboard && (req.from || req.to)) throw draw_error("--from and --to need --storyboard");
  if (req.at) check_line(lt, "--at", *req.at);
  if (req.from) check_line(lt, "--from", *req.from);
  if (req.to) check_line(lt, "--to", *req.to);
  if (req.from && req.to && *req.from > *req.to)
    throw draw_error(fmt::format("--from {} is after --to {}", *req.from, *req.to));
  return req.storyboard ? storyboard(lt, req) : snapshot(lt, req);
}

void write_storyboard_svg(const std::string& trace_path, std::string_view policy,
                          const std::string& out_path) {
  draw_request req;
  req.policies = {std::string(policy)};
  req.storyboard = true;
  graph g = draw(load_trace(trace_path), req);
  if (format_of(out_path) != format::svg)
    throw draw_error("a storyboard SVG must be written to a .svg file, not " + out_path);
  write_picture(g, out_path);
}

std::string storyboard_path(const std::string& counterexample_path) {
  return std::filesystem::path(counterexample_path).replace_extension(".svg").string();
}

}  // namespace sdmc::viz
