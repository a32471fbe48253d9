// sdtrace version 1: the in-memory form of a trace (../shared/trace-format.md is the contract).
//
// A Trace is what the parser produces and the writer consumes; write(parse(x)) parses back to an
// equal Trace. Numbers are kept in bytes exactly as written (after suffix expansion): rounding to
// pages and alignment checks are the kernel's business and happen at replay, so that an
// unaligned address yields the kernel's error instead of a parse error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sdmc::trace {

// PROT as in /proc/PID/maps: "r", "w", "x" bits.
enum Prot : std::uint8_t { PROT_NONE_ = 0, PROT_R = 1, PROT_W = 2, PROT_X = 4 };

enum class Sharing : std::uint8_t { Private, Shared, Droppable };

enum class Advice : std::uint8_t {
  Normal, Random, Sequential, Willneed, Dontneed, Free, Remove, Pageout, Cold,
  Dontfork, Dofork, Wipeonfork, Keeponfork, Dontdump, Dodump, Hugepage, Nohugepage,
};

// `= RESULT` at the end of an operation line. Sigbus is an sdmc extension of the contract: a
// read or write of a file mapping beyond the end of its file (traces/README.md).
struct Result {
  enum class Kind : std::uint8_t { None, Value, Errno, Sigsegv, Sigbus };
  Kind kind = Kind::None;
  std::uint64_t value = 0;  // Kind::Value
  int err = 0;              // Kind::Errno: positive errno number (EINVAL = 22)
  bool operator==(const Result&) const = default;
};

struct FileRef {
  std::string name;         // [A-Za-z0-9._/+-]+
  std::uint64_t offset = 0; // bytes
  bool ro = false;
  bool operator==(const FileRef&) const = default;
};

struct Mmap {
  std::uint64_t addr = 0, len = 0;
  std::uint8_t prot = 0;
  Sharing sharing = Sharing::Private;
  std::optional<FileRef> file;
  bool fixed = false, populate = false, noreserve = false, stack = false;
  bool operator==(const Mmap&) const = default;
};
struct Munmap { std::uint64_t addr = 0, len = 0; bool operator==(const Munmap&) const = default; };
struct Brk { std::uint64_t old_brk = 0, new_brk = 0; bool operator==(const Brk&) const = default; };
struct Mprotect {
  std::uint64_t addr = 0, len = 0;
  std::uint8_t prot = 0;
  bool operator==(const Mprotect&) const = default;
};
struct Mremap {
  std::uint64_t old_addr = 0, old_len = 0, new_len = 0;
  bool maymove = false;
  std::optional<std::uint64_t> fixed;  // `fixed NEW`
  bool dontunmap = false;
  bool operator==(const Mremap&) const = default;
};
struct Madvise {
  std::uint64_t addr = 0, len = 0;
  Advice advice = Advice::Normal;
  bool operator==(const Madvise&) const = default;
};
struct Mlock { std::uint64_t addr = 0, len = 0; bool operator==(const Mlock&) const = default; };
struct Munlock { std::uint64_t addr = 0, len = 0; bool operator==(const Munlock&) const = default; };
// `write ADDR [LEN]` / `read ADDR [LEN]`; LEN defaults to 1 byte.
struct Write { std::uint64_t addr = 0, len = 1; bool operator==(const Write&) const = default; };
struct Read { std::uint64_t addr = 0, len = 1; bool operator==(const Read&) const = default; };
struct ClearRefs { bool operator==(const ClearRefs&) const = default; };
// `uffd_wp ADDR LEN [remap]`: `remap` (sdmc's extension, traces/README.md) creates the trace's
// userfaultfd context with UFFD_FEATURE_EVENT_REMAP too; every uffd_wp of a trace agrees on it.
struct UffdWp {
  std::uint64_t addr = 0, len = 0;
  bool remap = false;
  bool operator==(const UffdWp&) const = default;
};
struct Scan {
  std::uint64_t addr = 0, len = 0;
  bool wp = false;
  std::uint64_t max_pages = 0;          // 0 = no limit
  std::optional<std::uint64_t> vec_len; // default: one entry per page of the range
  bool operator==(const Scan&) const = default;
};
struct Reclaim {
  std::optional<std::uint64_t> addr, len;  // both or neither
  bool operator==(const Reclaim&) const = default;
};
struct Fork { bool operator==(const Fork&) const = default; };
struct Epoch { bool operator==(const Epoch&) const = default; };

// Sdscan: PAGEMAP_SCAN's PAGE_IS_SOFT_DIRTY, sdmc's extension of the contract (traces/README.md).
enum class Field : std::uint8_t { Sd, Present, Swapped, Written, Sdscan, Vmas };

inline constexpr std::uint64_t kPageSize = 4096;
// Pages that overlap [addr, addr+len): the length of an expectation's bit string. For len > 0 this
// is the kernel's rounding ((addr + len + 4095) / 4096) - addr / 4096, computed without overflow;
// an empty range overlaps no page, even at an unaligned address (where that formula gives 1).
constexpr std::uint64_t pages_spanned(std::uint64_t addr, std::uint64_t len) {
  if (len == 0) return 0;
  return len / kPageSize + (addr % kPageSize + len % kPageSize + kPageSize - 1) / kPageSize;
}

struct Expect {
  Field field = Field::Sd;
  std::uint64_t addr = 0, len = 0;
  // For page fields: Bits (one '0'/'1' per page in `bits`), All0 or All1. For Vmas: Count.
  enum class Form : std::uint8_t { Bits, All0, All1, Count };
  Form form = Form::All0;
  std::string bits;
  std::uint64_t count = 0;
  bool operator==(const Expect&) const = default;
};

using Op = std::variant<Mmap, Munmap, Brk, Mprotect, Mremap, Madvise, Mlock, Munlock, Write, Read,
                        ClearRefs, UffdWp, Scan, Reclaim, Fork, Epoch, Expect>;

struct Line {
  int lineno = 0;        // 1-based line in the source file (0 for generated traces)
  Op op;
  Result expected;       // Kind::None when the line has no `= RESULT` (always None for Expect/Epoch)
  bool operator==(const Line& o) const { return op == o.op && expected == o.expected; }
};

struct Trace {
  std::string path;                  // for messages; not part of equality
  std::optional<std::string> kernel; // `kernel RELEASE`
  bool swap = false;                 // `swap on|off`
  std::vector<Line> lines;
  bool operator==(const Trace& o) const {
    return kernel == o.kernel && swap == o.swap && lines == o.lines;
  }
};

// A malformed trace: names file:line:column and what was expected.
struct ParseError : std::runtime_error {
  std::string file;
  int line = 0, column = 0;
  ParseError(std::string file_, int line_, int column_, const std::string& what_)
      : std::runtime_error(file_ + ":" + std::to_string(line_) + ":" + std::to_string(column_) +
                           ": " + what_),
        file(std::move(file_)), line(line_), column(column_) {}
};

// Parses a whole trace. Throws ParseError on the first malformed line.
Trace parse(std::string_view text, const std::string& filename);

// The same parse, a batch of operation lines at a time, for callers that consume a long trace
// as it is read (sdmc replay parses on one thread while the model replays on another). The
// text must outlive the reader. After the first read() the headers (`kernel`, `swap`) are
// known: they precede every operation.
class reader {
 public:
  reader(std::string_view text, std::string filename);
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;
  // Replaces `out` by the next operation lines, at most `max` (>= 1); false once the text is
  // exhausted and `out` is empty. A malformed line ends the batch with the lines before it;
  // the next read throws its ParseError (as parse does).
  bool read(std::vector<Line>& out, std::size_t max);
  // path, kernel and swap (lines stay empty).
  const Trace& headers() const { return head_; }

 private:
  struct state;
  bool read_lines(std::vector<Line>& out, std::size_t max);
  std::string_view text_;
  std::size_t pos_ = 0;
  Trace head_;
  std::unique_ptr<state> st_;
};
// Reads and parses a file; an unreadable file is a ParseError at line 0. A name ending in `.zst`
// is read as zstd-compressed text (traces/zstd.cpp).
Trace parse_file(const std::string& path);
// The text parse_file parses (decompressed), for a reader.
std::string read_trace_text(const std::string& path);
// The same text without a copy: a regular uncompressed file is mapped read-only (a
// million-line trace is 25 MB: reading it into a string costs a copy and a page fault per
// page); anything else is read_trace_text's string.
class trace_text {
 public:
  explicit trace_text(const std::string& path);  // throws ParseError like read_trace_text
  ~trace_text();
  trace_text(const trace_text&) = delete;
  trace_text& operator=(const trace_text&) = delete;
  std::string_view view() const { return map_ ? std::string_view(map_, len_) : std::string_view(owned_); }

 private:
  const char* map_ = nullptr;
  std::size_t len_ = 0;
  std::string owned_;
};
// Writes a trace's text to a file, zstd-compressed when the name ends in `.zst`; false (errno set)
// when the file cannot be written.
bool write_file(const std::string& path, std::string_view text);
// zstd helpers behind parse_file and write_file. A corrupt or truncated input is a ParseError at
// line 0 of `path`.
bool is_zstd_path(std::string_view path);
std::string zstd_decompress(std::string_view data, const std::string& path);
std::string zstd_compress(std::string_view text, int level = 19);
// Canonical text of a trace (`sdtrace 1` first); parse(write(t)) == t for every t that parse can
// produce. A Trace it cannot (an errno not in the table, a file name outside the format's
// characters, a Bits expectation of the wrong length, ...) is written as is and fails to parse.
std::string write(const Trace& t);
// Text of one operation line without the trailing newline, e.g. "mmap 0x1000 4p rw- private = 0x1000".
std::string format_line(const Line& l);

// Names shared by parser, writer and reports.
std::string_view advice_name(Advice a);
std::string_view field_name(Field f);
std::string_view sharing_name(Sharing s);     // "private", "shared", "droppable"
std::string prot_string(std::uint8_t prot);   // "rw-"
std::string_view op_name(const Op& op);       // "mmap", "expect", ...
// errno name <-> number (Linux x86-64): "EINVAL" <-> 22. Unknown returns nullopt / "".
std::optional<int> errno_from_name(std::string_view name);
std::string_view errno_name(int err);
// "0x1000", "-EINVAL", "SIGSEGV", "SIGBUS", "" for None. A value below 4096 (0, a count) is
// written in decimal, anything larger (an address) in hex; an errno missing from the table as
// "-<number>".
std::string format_result(const Result& r);

}  // namespace sdmc::trace
