// sdmc check [--policy P]... [--cases N] [--seed S] [--ops N] [--out DIR] [--mutant NAME] [--json]
//
// The property campaign for every design, side by side: random traces from the shared
// generator, each checked under each policy against the properties of props/properties.hpp
// after every operation (properties_of below), then the explorer at its default bound and the
// compact engine deeper on private anonymous memory. Prints the comparison table
// reviewers asked for, and writes every violation, shrunk, as an sdtrace file. A false
// negative or lost new mapping under upstream-6.12 is a finding (the kernel's bug, with the fix
// that addresses it); every other failure is an error: exit 1.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>

#include "cli/commands.hpp"
#include "cli/mutant_option.hpp"
#include "cli/report.hpp"
#include "model/kernel_layout.hpp"
#include "model/mutant.hpp"
#include "model/policy.hpp"
#include "props/properties.hpp"
#include "sim/campaign.hpp"
#include "sim/compact/rules.hpp"
#include "sim/explorer.hpp"
#include "sim/generator.hpp"
#include "sim/metrics.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::cli {

namespace {
namespace fs = std::filesystem;

struct check_args {
  std::vector<std::string> policies;
  std::uint64_t cases = 1000, seed = 1, ops = 40;
  std::string out = "sdmc-out";
  std::string mutant_name;
  bool json = false;
  unsigned explore_pages = 3, explore_depth = 5;  // sdmc explore's default bound (depth 0: skip it)
  // Then the compact engine, deeper, on the ground it covers (depth 0: skip it).
  unsigned deep_pages = 3, deep_depth = 7;
};

struct policy_result {
  std::string name;
  run_metrics m;
  std::uint64_t cases = 0;
  std::map<props::finding::kind, std::uint64_t> violations;  // cases with a violation, by kind
  std::vector<std::string> files;                       // shrunk counterexamples written
  explore_result explored;                              // the bounded exhaustive search
  explore_result deep;                                  // ... deeper, on the compact engine
  std::string deep_refused;                             // why the compact engine did not run
};

// The properties every case is checked against after every operation, as the RapidCheck
// properties check them (props/properties.hpp): soundness, the structural invariants
// (sim/invariants.hpp; write tracking where the design promises it), moved PTEs reading
// soft-dirty, and precision for the designs that promise it (policy::promises_precision).
props::property_options properties_of(const policy& pol, mutant bug) {
  props::property_options o;
  o.bug = bug;
  o.invariants = true;
  o.precision = pol.promises_precision();
  return o;
}

// A false negative or lost new mapping is the baseline's own bug; anything else is an error.
bool is_soundness(props::finding::kind k) {
  return k == props::finding::kind::false_negative || k == props::finding::kind::lost_new_mapping;
}

// The upstream fix that removes a counterexample found under upstream-6.12, if the model of
// that fix (the sticky policy) no longer shows it.
std::string upstream_fix(const trace::Trace& t, mutant bug) {
  auto sticky = make_policy("sticky");
  if (!props::check_trace(*sticky, t, properties_of(*sticky, bug)))
    return "fixed by bf14d4a05387 \"mm: propagate VM_SOFTDIRTY on merge\" (Nov 2025; the "
           "sticky policy)";
  return "not fixed by the November 2025 merge fix (the sticky policy shows it too)";
}

// A kind of failure as part of a file name: letters and digits, '-' for the rest, 24 at most.
std::string file_part(std::string_view what) {
  std::string s(what.substr(0, 24));
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  return s;
}

// Writes a counterexample to --out as POLICY-STEM.sdt: the `header` comment lines, how to
// replay it, the trace; and its storyboard beside it. Returns the file's name.
std::string write_counterexample(const check_args& a, const std::string& policy,
                                 const std::string& stem, const std::string& header,
                                 const trace::Trace& t) {
  fs::create_directories(a.out);
  const fs::path file = fs::path(a.out) / fmt::format("{}-{}.sdt", policy, stem);
  std::ofstream os(file);
  os << header << "# replay: sdmc replay --invariants --policy " << policy
     << (a.mutant_name.empty() ? "" : " --mutant " + a.mutant_name) << " " << file.string() << "\n"
     << trace::write(t);
  os.close();
  if (!os) throw std::runtime_error("cannot write " + file.string());
  if (!a.json) storyboard_beside(file.string(), policy, "check");
  return file.string();
}

int run(const check_args& a) {
  std::vector<std::string> names = a.policies;
  auto named = policies_named(names, "check");
  if (!named) return 2;
  std::vector<std::unique_ptr<policy>> pols = std::move(*named);
  const auto parsed = parse_mutant_option(a.mutant_name, "sdmc check");
  if (!parsed) return 2;
  const mutant bug = *parsed;
  if (a.cases == 0 || a.ops == 0) {
    fmt::print(stderr, "sdmc check: --cases and --ops must be at least 1\n");
    return 2;
  }

  int rc = 0;
  std::vector<policy_result> results;
  for (std::size_t p = 0; p < pols.size(); ++p) {
    const policy& pol = *pols[p];
    policy_result res;
    res.name = names[p];
    const bool baseline = names[p] == "upstream-6.12";
    const props::property_options po = properties_of(pol, bug);
    auto check = [&](const trace::Trace& x) { return props::check_trace(pol, x, po); };
    auto last = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < a.cases; ++i) {
      const std::uint64_t seed = a.seed + i;
      generator_options o = campaign_case(seed, a.ops);
      o.swap = seed % 2;
      const trace::Trace t = generate_trace(o);
      res.m += measure(t, pol, bug);
      ++res.cases;
      if (auto v = check(t)) {
        const bool finding = baseline && bug == mutant::none && is_soundness(v->k);
        if (!finding) rc = 1;
        if (res.violations[v->k]++ == 0) {
          // Only the first case of each kind is shrunk and written: the rest repeat it. The
          // prefix up to the failing operation suffices; ddmin keeps the kind.
          trace::Trace prefix = t;
          prefix.lines.resize(v->line + 1);
          const trace::Trace small = shrink(prefix, [&](const trace::Trace& c) {
            const auto g = check(c);
            return g && g->k == v->k;
          });
          const props::finding sv = check(small).value_or(*v);
          std::string note = baseline ? upstream_fix(small, bug) : "";
          std::string header = fmt::format("# sdmc check: {} under {}{}\n# found with --seed {} (case "
                                           "seed), shrunk to {} operations\n# {}\n",
                                           props::kind_name(sv.k), names[p],
                                           a.mutant_name.empty() ? "" : " with --mutant " + a.mutant_name,
                                           seed, small.lines.size(), sv.what);
          if (!note.empty()) header += "# " + note + "\n";
          const std::string file = write_counterexample(
              a, names[p], fmt::format("{}-seed{}", file_part(props::kind_name(sv.k)), seed), header, small);
          res.files.push_back(file);
          if (!a.json) {
            fmt::print(stderr, "\r\033[K");
            fmt::print("{} under {}: {} ({} operations) -> {}\n  {}\n",
                       finding ? "FINDING" : "ERROR", names[p], props::kind_name(sv.k),
                       small.lines.size(), file, sv.what);
            if (!note.empty()) fmt::print("  {}\n", note);
            std::cout << trace::write(small);
          }
        }
      }
      auto now = std::chrono::steady_clock::now();
      if (now - last > std::chrono::milliseconds(500) || i + 1 == a.cases) {
        fmt::print(stderr, "\r\033[Kcheck: {:18} {}/{} cases", names[p], i + 1, a.cases);
        last = now;
      }
    }
    fmt::print(stderr, "\n");
    // Runs one search and reports what it found; `label` names it in files and messages.
    auto search = [&](const explore_options& eo, const std::string& label) {
      explore_result r = explore(pol, eo, [&](const explore_progress& pr) {
        fmt::print(stderr, "\r\033[K{}: {:18} depth {} {} states {} transitions", label, names[p],
                   pr.depth, pr.states, pr.transitions);
      });
      fmt::print(stderr, "\r\033[K{}: {:18} {} states, {} transitions, {:.1f} s\n", label, names[p],
                 r.states, r.transitions, r.seconds);
      for (const auto* cx : {&r.violation, &r.false_negative, &r.lost_new_mapping}) {
        if (!*cx) continue;
        const std::string file = write_counterexample(
            a, names[p], label + "-" + file_part((*cx)->what),
            fmt::format("# sdmc check ({}, {} pages, depth {}{}): {} under {}\n# {}\n", label, eo.pages,
                        eo.depth, eo.ops.empty() ? "" : ", --ops " + eo.ops, (*cx)->what, names[p],
                        (*cx)->detail),
            counterexample_trace(pol, eo, (*cx)->ops));
        res.files.push_back(file);
        const bool finding = baseline && bug == mutant::none && cx != &r.violation;
        if (!finding) rc = 1;
        if (!a.json)
          fmt::print("{} under {} ({}, shortest): {} ({} operations) -> {}\n",
                     finding ? "FINDING" : "ERROR", names[p], label == "explore" ? "explorer" : label,
                     (*cx)->what, (*cx)->ops.size(), file);
      }
      return r;
    };
    auto bounded = [&](unsigned pages, unsigned depth) {
      explore_options eo;
      eo.pages = pages;
      eo.depth = depth;
      eo.bug = bug;
      eo.soundness_is_finding = baseline;
      return eo;
    };
    // The explorer to its bound: every sequence of explore_depth operations in a small window,
    // on the compact engine where it covers the search (as sdmc explore's --engine auto).
    if (a.explore_depth) {
      explore_options eo = bounded(a.explore_pages, a.explore_depth);
      eo.engine = auto_engine(pol, eo, make_alphabet(eo));
      res.explored = search(eo, "explore");
    }
    if (a.deep_depth) {
      // Deeper on the compact engine (sim/compact/), where it covers the design and mutant:
      // private anonymous memory only, so that the depth stays affordable.
      explore_options eo = bounded(a.deep_pages, a.deep_depth);
      eo.ops = std::string(compact_anon_ops);
      eo.engine = explore_engine::compact;
      if (auto why = compact::rules::unsupported(pol, eo, make_alphabet(eo))) {
        res.deep_refused = *why;
        fmt::print(stderr, "deep:    {:18} not covered by the compact engine: {}\n", names[p], *why);
      } else {
        res.deep = search(eo, "deep");
      }
    }
    results.push_back(std::move(res));
  }

  if (a.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const policy_result& r : results)
      arr.push_back({{"policy", r.name},
                     {"cases", r.cases},
                     {"operations", r.m.lines},
                     {"false_negatives", r.m.sd.false_negatives},
                     {"lost_new_mappings", r.m.sd.lost_new_mappings},
                     {"false_positives", r.m.sd.false_positives},
                     {"kernel_gaps", r.m.sd.kernel_gaps},
                     {"vma_max", r.m.vma_max},
                     {"non_sd_reg_nodes_max", r.m.nodes_max},
                     {"extra_metadata_bytes_max", r.m.extra_bytes_max},
                     {"metadata_bytes_max", r.m.metadata_bytes_max},
                     {"seconds", r.m.seconds},
                     {"explored_states", r.explored.states},
                     {"explored_transitions", r.explored.transitions},
                     {"explored_cpu_seconds", r.explored.cpu_seconds},
                     {"deep_states", r.deep.states},
                     {"deep_cpu_seconds", r.deep.cpu_seconds},
                     {"deep_not_covered", r.deep_refused},
                     {"counterexamples", r.files}});
    std::cout << arr.dump(2) << "\n";
    return rc;
  }
  fmt::print("\n{} cases x {} operations per policy, seeds {}..{}{}; explorer: {} pages, depth {}; "
             "deep (compact engine, private anonymous memory): {} pages, depth {}\n",
             a.cases, a.ops, a.seed, a.seed + a.cases - 1,
             bug == mutant::none ? "" : fmt::format(", mutant {}", a.mutant_name), a.explore_pages,
             a.explore_depth, a.deep_pages, a.deep_depth);
  fmt::print("{:18} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>11} {:>10} {:>8} {:>9} {:>9} {:>10} {:>6}  {}\n",
             "policy", "false-neg", "lost-new", "false-pos", "k-gaps", "VMA max", "nodes",
             "extra B max", "meta B max", "time s", "explored", "explore s", "deep", "deep s", "verdict");
  for (const policy_result& r : results) {
    // Under the baseline without a mutant, soundness cases are the kernel's findings; every
    // other case is an error.
    const bool baseline = r.name == "upstream-6.12" && bug == mutant::none;
    std::uint64_t findings = 0, errors = 0;
    for (auto& [k, n] : r.violations) (baseline && is_soundness(k) ? findings : errors) += n;
    for (const explore_result* x : {&r.explored, &r.deep}) {
      (baseline ? findings : errors) += x->false_negative || x->lost_new_mapping;
      errors += bool(x->violation);
    }
    std::string verdict = errors ? fmt::format("{} cases: ERRORS", errors)
                          : findings ? fmt::format("{} cases: kernel findings", findings)
                                     : "sound";
    // "-": the compact engine does not cover the design or mutant (stderr said why), or skipped.
    const bool deep = a.deep_depth && r.deep_refused.empty();
    fmt::print("{:18} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>11} {:>10} {:>8.2f} {:>9} {:>9.1f} {:>10} {:>6}  {}\n",
               r.name, r.m.sd.false_negatives, r.m.sd.lost_new_mappings, r.m.sd.false_positives,
               r.m.sd.kernel_gaps, r.m.vma_max, r.m.nodes_max, r.m.extra_bytes_max,
               r.m.metadata_bytes_max, r.m.seconds, r.explored.states, r.explored.cpu_seconds,
               deep ? std::to_string(r.deep.states) : "-",
               deep ? fmt::format("{:.1f}", r.deep.cpu_seconds) : "-", verdict);
  }
  fmt::print("(pages, summed over the cases: false negatives, lost new mappings and false "
             "positives of pagemap bit 55 against the ghost; k-gaps are kernel-mandated, see "
             "sim/oracle.hpp. time s: the campaign's replays; explore s: the explorer's CPU time; deep: "
             "the compact engine's deeper search, - where it does not cover the design or mutant. meta B = VMAs x sizeof(struct vm_area_struct) ({}, Debian amd64 6.12) + "
             "the design's own. lost-new under uffd-wp is by design: write-protect has no "
             "per-mapping signal.)\n",
             kernel_layout::vm_area_struct);
  return rc;
}
}  // namespace

void add_check(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<check_args>();
  CLI::App* cmd = app.add_subcommand("check", "Property campaign for every design, with the comparison table");
  cmd->add_option("--policy", args->policies, "designs to check (default: all)");
  cmd->add_option("--cases", args->cases, "random traces per design (default 1000)");
  cmd->add_option("--seed", args->seed, "seed of the first case (case i uses seed+i)");
  cmd->add_option("--ops", args->ops, "operations per trace (default 40)");
  cmd->add_option("--out", args->out, "directory for counterexamples (default sdmc-out)");
  cmd->add_option("--mutant", args->mutant_name, "switch a historical bug into the model");
  cmd->add_option("--explore-pages", args->explore_pages, "explorer window in pages (default 3)");
  cmd->add_option("--explore-depth", args->explore_depth, "explorer depth (default 5, as sdmc explore; 0 skips the explorer)");
  cmd->add_option("--deep-pages", args->deep_pages, "window of the compact engine's deeper search (default 3)");
  cmd->add_option("--deep-depth", args->deep_depth,
                  "depth of the compact engine's deeper search on private anonymous memory, for the designs "
                  "and mutants it covers (default 7; 0 skips it)");
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args, &exit_code] {
    try {
      exit_code = run(*args);
    } catch (const std::exception& e) {
      fmt::print(stderr, "sdmc check: {}\n", e.what());
      exit_code = 2;
    }
  });
}

}  // namespace sdmc::cli
