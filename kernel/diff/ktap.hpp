// kernel/diff/ktap.hpp: a generic KTAP v1 parser (docs.kernel.org/dev-tools/ktap.html)
// into a tree of tests. Tolerant: never throws on malformed input; everything
// unexpected is recorded in ktap_log::problems.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sdmc {

struct ktap_test {
  enum result_kind { ok, not_ok, skip, todo, missing };

  int number = 0;                        // the N of "ok N name"; 0 for the root
  std::string name;                      // result-line name, else the "# Subtest:" name
  result_kind result = missing;          // `missing`: no result line was seen
  std::string directive_reason;          // text after "# SKIP"/"# TODO" (or an unknown directive)
  std::vector<std::string> diagnostics;  // in order, without the leading "# "
  std::vector<ktap_test> subtests;
  int plan = -1;                         // N of "1..N", -1 if none
  int depth = 0;                         // 0 = the root (the whole log)
  int line = 0;                          // 1-based log line of the result line, 0 if none
};

struct ktap_log {
  ktap_test root;                        // root.name/number/result unused (root.result = ok)
  bool truncated = false;                // some test has no result line (crash, cut log)
  std::vector<std::string> problems;     // malformed lines, plan mismatches, kernel trouble
  int version = -1;                      // N of the top-level "KTAP version N"
  std::size_t noise_lines = 0;           // non-KTAP lines (console output), ignored
};

// One classified log line (views into the line given to classify_ktap_line).
struct ktap_line {
  enum kind_t { blank, version, plan, result, subtest, diagnostic, unknown, malformed };
  kind_t kind = blank;
  int indent = 0;               // leading spaces (after the printk time stamp)
  int number = 0;               // version N / plan N / test number
  bool ok = false;              // result: "ok" (true) or "not ok"
  std::string_view name;        // result: test name; subtest: its name
  std::string_view directive;   // result: directive word ("SKIP", "TODO", ...) or empty
  std::string_view reason;      // result: text after the directive word
  std::string_view text;        // diagnostic: text after "#" and one space; malformed: why
  std::string_view body;        // the line after the indentation
};

// Removes a printk prefix ("<6>", "[    1.234567] ", "[    T1] ", "[ C0] ")
// from one line, plus a trailing '\r'. Keeps the KTAP indentation.
std::string_view strip_printk_prefix(std::string_view line);

// Classifies one line (call strip_printk_prefix first).
ktap_line classify_ktap_line(std::string_view line);

// Parses a whole log. Lines that are not KTAP are counted as noise.
ktap_log parse_ktap(std::string_view text);

const char* to_string(ktap_test::result_kind r);

}  // namespace sdmc
