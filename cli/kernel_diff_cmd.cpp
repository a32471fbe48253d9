// sdmc kernel-diff [TRACE...] [--cases N] [--seed S] [--out DIR] [--series NAME]
//                  [--observer kunit|userspace|both] [--kernel-dir DIR]
//
// Runs traces on the model and inside the real Linux 6.12 kernel (kernel/run-kunit.sh: KUnit in
// QEMU; kernel/run-userspace.sh: real syscalls as /init of the same kernel) and compares the
// observations operation by operation (kernel/OBSERVATIONS.md). Without TRACE, --cases random
// traces from the property generator go to the kernel in one boot. A difference is shrunk to a
// minimal trace by booting batches of candidates (delta debugging), printed side by side, and
// written to --out; exit 1. Kernel trouble (build failure, QEMU timeout, panic, WARN) exits 2
// with the runner's evidence.
#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <set>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sys/wait.h>
#include <sstream>

#include "cli/commands.hpp"
#include "kernel/diff/compare.hpp"
#include "kernel/diff/observations.hpp"
#include "model/policy.hpp"
#include "sim/generator.hpp"
#include "viz/draw.hpp"

namespace fs = std::filesystem;

namespace sdmc::cli {

namespace {

using namespace kdiff;

struct diff_args {
  std::vector<std::string> traces;
  std::uint64_t cases = 200;
  std::uint64_t seed = 1;
  std::string out = "sdmc-out";
  std::string series = "upstream-6.12";
  std::string observer = "kunit";
  std::string kernel_dir = SDMC_SOURCE_DIR "/kernel";
  std::uint64_t ops = 30;
  bool uffd_remap = false;
};

struct boot_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs one observer over the trace files; returns the parsed boot.
obs_boot boot(const diff_args& a, const std::string& observer, const std::vector<fs::path>& files,
              const fs::path& ktap) {
  const fs::path runner = fs::path(a.kernel_dir) / (observer == "kunit" ? "run-kunit.sh" : "run-userspace.sh");
  if (!fs::exists(runner))
    throw boot_error(fmt::format("no kernel runner at {} (is --kernel-dir the repository's kernel/ folder?)",
                                 runner.string()));
  std::string cmd = fmt::format("'{}/run-{}.sh' --series '{}' --quiet --out '{}'", a.kernel_dir,
                                observer == "kunit" ? "kunit" : "userspace", a.series, ktap.string());
  for (const fs::path& f : files) cmd += fmt::format(" '{}'", f.string());
  fmt::print(stderr, "sdmc kernel-diff: booting the {} observer with {} traces...\n", observer, files.size());
  const auto t0 = std::chrono::steady_clock::now();
  int rc = std::system(cmd.c_str());
  int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
  if (status > 3)
    throw boot_error(fmt::format("{} ended with status {} (killed, or not runnable)", runner.string(), status));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Exit 1 means a trace failed its own expectations inside the kernel: the comparison says
  // more. 2 and 3 are set-up/build and kernel trouble, whose evidence the runner printed.
  if (status >= 2)
    throw boot_error(fmt::format("kernel/run-{}.sh failed with status {} ({}); its evidence is above",
                                 observer == "kunit" ? "kunit" : "userspace", status,
                                 status == 2 ? "set-up or build error" : "kernel trouble"));
  obs_boot b = parse_observations(read_file(ktap));
  if (b.truncated) throw boot_error(fmt::format("the KTAP log {} is truncated", ktap.string()));
  fmt::print(stderr, "sdmc kernel-diff: {} observer done in {:.1f} s ({})\n", observer, secs, b.kernel);
  return b;
}

// The observers' trace names (OBSERVATIONS.md section 1): the base name with characters
// outside [A-Za-z0-9._+-] replaced by '_', and "N-" before a repeated base name, N the file's
// 0-based position on the command line.
std::vector<std::string> observer_names(const std::vector<fs::path>& files) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::string base = files[i].filename().string();
    for (char& c : base)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-')) c = '_';
    names.push_back(seen.insert(base).second ? base : fmt::format("{}-{}", i, base));
  }
  return names;
}

const obs_trace* find_trace(const obs_boot& b, const std::string& name) {
  for (const obs_trace& t : b.traces)
    if (t.name == name) return &t;
  return nullptr;
}

bool differs(const trace::Trace& t, const policy& pol, const obs_trace* kern) {
  if (!kern || kern->st == obs_trace::status::skip) return false;
  return !compare(model_observe(t, pol, kern->range), *kern).empty();
}

// Delta debugging over the operation lines: remove chunks, boot all candidates of one round in
// one batch, keep the shortest that still differs.
trace::Trace shrink(const diff_args& a, const std::string& observer, const policy& pol,
                    trace::Trace t, const fs::path& dir) {
  std::size_t n = 2;
  for (int round = 0; t.lines.size() > 1 && round < 64; ++round) {
    n = std::min(n, t.lines.size());
    std::vector<trace::Trace> cands;
    std::size_t chunk = (t.lines.size() + n - 1) / n;
    for (std::size_t i = 0; i < t.lines.size(); i += chunk) {
      trace::Trace c = t;
      c.lines.erase(c.lines.begin() + std::ptrdiff_t(i),
                    c.lines.begin() + std::ptrdiff_t(std::min(i + chunk, t.lines.size())));
      cands.push_back(std::move(c));
    }
    fs::path rdir = dir / fmt::format("round-{}", round);
    fs::create_directories(rdir);
    std::vector<fs::path> files;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      files.push_back(rdir / fmt::format("cand-{}.sdt", i));
      // Line numbers are those of the candidate's own file.
      std::string text = trace::write(cands[i]);
      std::ofstream(files.back()) << text;
      cands[i] = trace::parse(text, files.back().string());
    }
    obs_boot b = boot(a, observer, files, rdir / "boot.ktap");
    const auto names = observer_names(files);
    const trace::Trace* best = nullptr;
    for (std::size_t i = 0; i < cands.size(); ++i)
      if (differs(cands[i], pol, find_trace(b, names[i])) &&
          (!best || cands[i].lines.size() < best->lines.size()))
        best = &cands[i];
    fmt::print(stderr, "sdmc kernel-diff: shrink round {}: {} lines, {} candidates, {}\n", round,
               t.lines.size(), cands.size(), best ? fmt::format("kept {} lines", best->lines.size()) : "none differs");
    if (best) {
      t = *best;
      n = std::max<std::size_t>(n - 1, 2);
    } else if (n >= t.lines.size()) {
      break;
    } else {
      n = std::min(n * 2, t.lines.size());
    }
  }
  return t;
}

int run(const diff_args& a) {
  auto pol = make_policy(a.series);
  if (!pol) {
    fmt::print(stderr, "sdmc kernel-diff: no model policy for series '{}'\n", a.series);
    return 2;
  }
  const fs::path out = a.out;
  fs::create_directories(out);
  // The traces: given, or generated (one file each, the generator's seed in the name).
  std::vector<fs::path> files;
  std::vector<trace::Trace> traces;
  try {
    for (const std::string& p : a.traces) {
      traces.push_back(trace::parse_file(p));
      files.push_back(p);
      if (trace::is_zstd_path(p)) {
        // The observers read text: hand them the decompressed file (same lines, same name
        // without .zst).
        std::ifstream in(p, std::ios::binary);
        std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        fs::create_directories(out / "unpacked");
        files.back() = out / "unpacked" / fs::path(p).stem();
        std::ofstream(files.back()) << trace::zstd_decompress(packed, p);
      }
    }
  } catch (const trace::ParseError& e) {
    fmt::print(stderr, "sdmc kernel-diff: {}\n", e.what());
    return 2;
  }
  if (a.cases) {
    fs::create_directories(out / "generated");
    for (std::uint64_t i = 0; i < a.cases; ++i) {
      generator_options o;
      o.seed = a.seed + i;
      o.pages = 64;
      o.ops = a.ops;
      o.max_len = 6;
      o.weights = every_op_weights();
      if (a.uffd_remap) {
        // EVENT_REMAP contexts, with the operations whose interplay it changes drawn more often.
        o.uffd_remap = true;
        o.weights.uffd_wp = 10;
        o.weights.mremap = 10;
      }
      fs::path f = out / "generated" / fmt::format("gen-{}.sdt", o.seed);
      std::string text = trace::write(generate_trace(o));
      std::ofstream(f) << text;
      traces.push_back(trace::parse(text, f.string()));
      files.push_back(f);
    }
  }
  if (files.empty()) {
    fmt::print(stderr, "sdmc kernel-diff: no traces (give TRACE files or --cases N)\n");
    return 2;
  }
  std::vector<std::string> observers;
  if (a.observer == "both") observers = {"kunit", "userspace"};
  else observers = {a.observer};

  int rc = 0;
  try {
    for (const std::string& obs : observers) {
      obs_boot b = boot(a, obs, files, out / fmt::format("{}.ktap", obs));
      const auto names = observer_names(files);
      std::uint64_t compared = 0, skipped = 0, ops = 0, missing = 0;
      for (std::size_t i = 0; i < files.size(); ++i) {
        const obs_trace* kern = find_trace(b, names[i]);
        if (!kern) {
          ++missing;
          fmt::print("{}: {}: no observations in the {} log\n", files[i].string(), obs, obs);
          rc = 1;
          continue;
        }
        if (kern->st == obs_trace::status::skip) {
          ++skipped;
          continue;
        }
        obs_trace model = model_observe(traces[i], *pol, kern->range);
        auto diffs = compare(model, *kern);
        ++compared;
        ops += kern->ops.size();
        if (diffs.empty()) continue;
        rc = 1;
        fmt::print("DIFFERENCE {} ({} observer, kernel {}):\n", files[i].string(), obs, b.kernel);
        for (const difference& d : diffs)
          fmt::print("  line {}: {}\n    model:  {}\n    kernel: {}\n", d.line, d.what, d.model, d.kernel);
        fs::path sdir = out / fmt::format("shrink-{}-{}", obs, files[i].stem().string());
        trace::Trace small = shrink(a, obs, *pol, traces[i], sdir);
        fs::path final_file = out / fmt::format("diff-{}-{}.sdt", obs, files[i].stem().string());
        std::string text = "# sdmc kernel-diff: model and kernel " + b.kernel + " (" + obs +
                           " observer) differ on this trace\n" + trace::write(small);
        std::ofstream(final_file) << text;
        // A storyboard of the counterexample beside it, for review (sdmc draw --storyboard).
        const std::string svg = viz::storyboard_path(final_file.string());
        try {
          viz::write_storyboard_svg(final_file.string(), a.series, svg);
          fmt::print("storyboard of the minimal trace: {}\n", svg);
        } catch (const viz::draw_error& e) {
          fmt::print(stderr, "sdmc kernel-diff: no storyboard for {}: {}\n", final_file.string(), e.what());
        }
        trace::Trace reparsed = trace::parse(text, final_file.string());
        obs_boot fb = boot(a, obs, {final_file}, sdir / "final.ktap");
        if (const obs_trace* fk = find_trace(fb, observer_names({final_file})[0])) {
          obs_trace fm = model_observe(reparsed, *pol, fk->range);
          fmt::print("minimal trace ({} lines) written to {}:\n{}", reparsed.lines.size(),
                     final_file.string(), side_by_side(reparsed, fm, *fk));
          for (const difference& d : compare(fm, *fk))
            fmt::print("  line {}: {}\n    model:  {}\n    kernel: {}\n", d.line, d.what, d.model, d.kernel);
        }
      }
      fmt::print("kernel-diff ({} observer, kernel {}, {}): {} traces compared, {} operations, {} "
                 "skipped by the observer, {} without observations\n",
                 obs, b.kernel, b.source, compared, ops, skipped, missing);
    }
  } catch (const boot_error& e) {
    fmt::print(stderr, "sdmc kernel-diff: {}\n", e.what());
    return 2;
  }
  return rc;
}
}  // namespace

void add_kernel_diff(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<diff_args>();
  CLI::App* cmd = app.add_subcommand("kernel-diff", "Compare the model with the real Linux 6.12 kernel");
  cmd->add_option("traces", a->traces, "sdtrace files to compare as well");
  cmd->add_option("--cases", a->cases, "random traces to generate (0: none)");
  cmd->add_option("--seed", a->seed, "seed of the first random trace");
  cmd->add_option("--ops", a->ops, "operations per random trace");
  cmd->add_flag("--uffd-remap", a->uffd_remap,
                "random traces whose uffd_wp contexts have UFFD_FEATURE_EVENT_REMAP (`remap`), with more "
                "uffd_wp and mremap (the KUnit observer skips them: use --observer userspace)");
  cmd->add_option("--out", a->out, "where traces, logs and minimal differences go");
  cmd->add_option("--series", a->series, "kernel patch series and model policy");
  cmd->add_option("--observer", a->observer, "kunit, userspace or both")
      ->check(CLI::IsMember({"kunit", "userspace", "both"}));
  cmd->add_option("--kernel-dir", a->kernel_dir, "the kernel/ folder with the runners");
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace sdmc::cli
