#include "kernel/diff/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "sim/replay.hpp"

namespace sdmc::kdiff {

namespace {

bool returns_address(const trace::Op& op) {
  return std::holds_alternative<trace::Mmap>(op) || std::holds_alternative<trace::Mremap>(op) ||
         std::holds_alternative<trace::Brk>(op);
}

// The RESULT token of OBSERVATIONS.md 2.1 for what the model returned.
std::string result_token(const trace::Line& l, const Result& r) {
  if (const auto* b = std::get_if<trace::Brk>(&l.op)) {
    // The kernel's brk returns the old break on failure; the observers print that as -ENOMEM.
    if (r.kind == Result::Kind::Value && r.value != b->new_brk) return "-ENOMEM";
  }
  switch (r.kind) {
    case Result::Kind::None: return "0";
    case Result::Kind::Sigsegv: return "SIGSEGV";
    case Result::Kind::Sigbus: return "SIGBUS";
    case Result::Kind::Errno: {
      std::string_view name = trace::errno_name(r.err);
      return name.empty() ? fmt::format("-{}", r.err) : fmt::format("-{}", name);
    }
    case Result::Kind::Value:
      return returns_address(l.op) ? fmt::format("{:#x}", r.value) : fmt::format("{}", r.value);
  }
  return "?";
}

std::vector<std::string> split_flags(const std::string& smaps) {
  std::vector<std::string> out;
  std::istringstream is(smaps);
  for (std::string f; is >> f;) out.push_back(f);
  return out;
}

std::string bits_of(const pagemap_entry& e) {
  std::string s(7, '0');
  s[0] = e.soft_dirty ? '1' : '0';
  s[1] = e.exclusive ? '1' : '0';
  s[2] = e.uffd_wp ? '1' : '0';
  s[3] = e.file ? '1' : '0';
  s[4] = e.swapped ? '1' : '0';
  s[5] = e.present ? '1' : '0';
  s[6] = e.written ? '1' : '0';
  return s;
}

void observe_state(const kernel& k, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& range,
                   obs_op& op) {
  for (const auto& [start, end] : range) {
    const pfn_t s = addr_to_pfn(start), e = addr_to_pfn(end);
    // The VMAs intersecting the observed range, each once (intervals are disjoint and sorted).
    k.mm.for_each_vma(s, e, [&](const vma_ref& v) {
      if (!op.vmas.empty() && op.vmas.back().start == pfn_to_addr(v.vm_start)) return;
      obs_vma ov;
      ov.start = pfn_to_addr(v.vm_start);
      ov.end = pfn_to_addr(v.vm_end);
      ov.flags = split_flags(vm_flags_smaps(v.v.vm_flags));
      ov.keys["pgoff"] = fmt::format("{:#x}", v.v.file ? v.vm_pgoff() : 0);
      ov.keys["anon"] = v.is_anonymous() ? "1" : "0";
      ov.keys["wprot"] = v.v.page_prot_write ? "1" : "0";
      op.vmas.push_back(std::move(ov));
    });
    for (pfn_t p = s; p < e; ++p) {
      const pagemap_entry pe = k.pagemap(p);
      std::string b = bits_of(pe);
      const char sdscan = pe.sdscan ? '1' : '0';
      if (!op.pages.empty() && op.pages.back().bits == b && op.pages.back().sdscan == sdscan &&
          op.pages.back().start + op.pages.back().npages * PAGE_SIZE == pfn_to_addr(p))
        ++op.pages.back().npages;
      else
        op.pages.push_back({pfn_to_addr(p), 1, b, sdscan});
    }
  }
}

std::string vma_text(const obs_vma& v, bool with_wprot) {
  std::vector<std::string> flags = v.flags;  // a set: compare without regard to order
  std::sort(flags.begin(), flags.end());
  std::string keys;
  for (const auto& [k, val] : v.keys)
    if (k != "wprot" || with_wprot) keys += fmt::format(" {}={}", k, val);
  return fmt::format("{:#x}-{:#x} {}{}", v.start, v.end, fmt::join(flags, ","), keys);
}

// "BITS sdscan=S", or BITS alone for a log without the key (or when it is not compared).
std::string page_state(const obs_pg& p, bool with_sdscan = true) {
  return with_sdscan && p.sdscan != '-' ? fmt::format("{} sdscan={}", p.bits, p.sdscan) : p.bits;
}

std::string page_runs(const obs_op& op) {
  std::string out;
  for (const obs_pg& p : op.pages)
    out += fmt::format("{}{:#x}+{} {}", out.empty() ? "" : "; ", p.start, p.npages, page_state(p));
  return out;
}

// Per-page state of an op, keyed by page address.
std::map<std::uint64_t, std::string> page_map(const obs_op& op, bool with_sdscan) {
  std::map<std::uint64_t, std::string> m;
  for (const obs_pg& p : op.pages)
    for (std::uint64_t i = 0; i < p.npages; ++i) m[p.start + i * PAGE_SIZE] = page_state(p, with_sdscan);
  return m;
}

}  // namespace

obs_trace model_observe(const trace::Trace& t, const policy& pol,
                        const std::vector<std::pair<std::uint64_t, std::uint64_t>>& range_in) {
  auto range = range_in;
  if (range.empty())
    for (const auto& iv : touched_pages(t)) range.emplace_back(pfn_to_addr(iv.lower()), pfn_to_addr(iv.upper()));
  obs_trace out;
  out.name = t.path;
  out.range = range;
  replay_options opt;
  opt.oracle = false;
  opt.expectations_are_failures = opt.results_are_failures = false;
  replayer r(t, pol, opt);
  for (const trace::Line& l : t.lines) {
    r.step(l);
    if (std::holds_alternative<trace::Expect>(l.op)) continue;
    obs_op op;
    op.line = l.lineno;
    op.kind = std::string(trace::op_name(l.op));
    op.result = result_token(l, r.results.back());
    observe_state(r.k, range, op);
    out.ops.push_back(std::move(op));
  }
  out.st = obs_trace::status::ok;
  return out;
}

std::vector<difference> compare(const obs_trace& model, const obs_trace& kern) {
  std::vector<difference> out;
  if (kern.st == obs_trace::status::skip) return out;
  for (const std::string& e : kern.errors) out.push_back({0, "kernel error", "", e});
  if (kern.st == obs_trace::status::missing)
    out.push_back({0, "status", "complete", "the kernel's log ends inside this trace"});
  std::size_t n = std::min(model.ops.size(), kern.ops.size());
  for (std::size_t i = 0; i < n; ++i) {
    const obs_op& m = model.ops[i];
    const obs_op& k = kern.ops[i];
    if (m.line != k.line || m.kind != k.kind) {
      out.push_back({k.line, "op", fmt::format("line {} {}", m.line, m.kind), fmt::format("line {} {}", k.line, k.kind)});
      break;
    }
    if (m.result != k.result) out.push_back({k.line, "result", m.result, k.result});
    // VMAs: the same list (wprot only where the kernel observer can see it).
    bool kernel_wprot = !k.vmas.empty() && k.vmas.front().keys.count("wprot");
    std::string mv, kv;
    for (const obs_vma& v : m.vmas) mv += vma_text(v, kernel_wprot) + "\n";
    for (const obs_vma& v : k.vmas) kv += vma_text(v, kernel_wprot) + "\n";
    if (mv != kv) out.push_back({k.line, "vmas", mv, kv});
    // Pages: compare per page so that run boundaries do not matter; sdscan where the kernel's
    // log has it (logs from before the key have none).
    const bool kernel_sdscan =
        std::any_of(k.pages.begin(), k.pages.end(), [](const obs_pg& p) { return p.sdscan != '-'; });
    auto mp = page_map(m, kernel_sdscan), kp = page_map(k, kernel_sdscan);
    if (mp != kp) {
      std::string md, kd;
      int shown = 0;
      for (const auto& [addr, bits] : kp) {
        auto it = mp.find(addr);
        std::string mb = it == mp.end() ? "absent" : it->second;
        if (mb == bits) continue;
        if (shown++ < 8) {
          md += fmt::format("{:#x} {}\n", addr, mb);
          kd += fmt::format("{:#x} {}\n", addr, bits);
        }
      }
      if (mp.size() != kp.size() && shown == 0) {
        md += fmt::format("{} pages observed\n", mp.size());
        kd += fmt::format("{} pages observed\n", kp.size());
      }
      out.push_back({k.line, kernel_sdscan ? "pages (sd ex wp fi sw pr wr, sdscan)" : "pages (sd ex wp fi sw pr wr)",
                     md, kd});
    }
    if (!out.empty()) break;  // the first differing operation is the finding
  }
  if (out.empty() && kern.st != obs_trace::status::missing && kern.errors.empty() &&
      model.ops.size() != kern.ops.size())
    out.push_back({0, "operations", std::to_string(model.ops.size()), std::to_string(kern.ops.size())});
  return out;
}

std::string side_by_side(const trace::Trace& t, const obs_trace& model, const obs_trace& kern) {
  std::string out;
  std::map<int, const obs_op*> km;
  for (const obs_op& k : kern.ops) km[k.line] = &k;
  for (const trace::Line& l : t.lines) {
    out += fmt::format("{:>4}  {}\n", l.lineno, trace::format_line(l));
    auto mit = std::find_if(model.ops.begin(), model.ops.end(), [&](const obs_op& o) { return o.line == l.lineno; });
    auto kit = km.find(l.lineno);
    if (mit == model.ops.end()) continue;
    out += fmt::format("        model : {:<12} {}\n", mit->result, page_runs(*mit));
    if (kit != km.end()) out += fmt::format("        kernel: {:<12} {}\n", kit->second->result, page_runs(*kit->second));
    for (const obs_vma& v : mit->vmas) out += fmt::format("        model  vma {}\n", vma_text(v, true));
    if (kit != km.end())
      for (const obs_vma& v : kit->second->vmas) out += fmt::format("        kernel vma {}\n", vma_text(v, true));
  }
  return out;
}

}  // namespace sdmc::kdiff
