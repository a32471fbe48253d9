#include "record/strace_import.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "record/mem_call.hpp"
#include "record/uapi.hpp"

namespace sdmc::record {

namespace {

struct flag_name {
  std::string_view name;
  std::uint64_t value;
};

// The names strace 6.1 prints (src/xlat/*.in), with the kernel's values.
constexpr flag_name kProt[] = {{"PROT_NONE", 0}, {"PROT_READ", 1}, {"PROT_WRITE", 2}, {"PROT_EXEC", 4},
                               {"PROT_SEM", 8}, {"PROT_GROWSDOWN", 0x01000000},
                               {"PROT_GROWSUP", 0x02000000}};
constexpr flag_name kMap[] = {
    {"MAP_SHARED", 1}, {"MAP_PRIVATE", 2}, {"MAP_SHARED_VALIDATE", 3}, {"MAP_DROPPABLE", 8},
    {"MAP_FIXED", 0x10}, {"MAP_ANONYMOUS", 0x20}, {"MAP_ANON", 0x20}, {"MAP_32BIT", 0x40},
    {"MAP_GROWSDOWN", 0x100}, {"MAP_DENYWRITE", 0x800}, {"MAP_EXECUTABLE", 0x1000},
    {"MAP_LOCKED", 0x2000}, {"MAP_NORESERVE", 0x4000}, {"MAP_POPULATE", 0x8000},
    {"MAP_NONBLOCK", 0x10000}, {"MAP_STACK", 0x20000}, {"MAP_HUGETLB", 0x40000}, {"MAP_SYNC", 0x80000},
    {"MAP_FIXED_NOREPLACE", 0x100000}, {"MAP_UNINITIALIZED", 0x4000000},
    {"MAP_HUGE_64KB", 16ull << 26}, {"MAP_HUGE_2MB", 21ull << 26}, {"MAP_HUGE_1GB", 30ull << 26}};
constexpr flag_name kMadv[] = {
    {"MADV_NORMAL", 0}, {"MADV_RANDOM", 1}, {"MADV_SEQUENTIAL", 2}, {"MADV_WILLNEED", 3},
    {"MADV_DONTNEED", 4}, {"MADV_FREE", 8}, {"MADV_REMOVE", 9}, {"MADV_DONTFORK", 10},
    {"MADV_DOFORK", 11}, {"MADV_MERGEABLE", 12}, {"MADV_UNMERGEABLE", 13}, {"MADV_HUGEPAGE", 14},
    {"MADV_NOHUGEPAGE", 15}, {"MADV_DONTDUMP", 16}, {"MADV_DODUMP", 17}, {"MADV_WIPEONFORK", 18},
    {"MADV_KEEPONFORK", 19}, {"MADV_COLD", 20}, {"MADV_PAGEOUT", 21}, {"MADV_POPULATE_READ", 22},
    {"MADV_POPULATE_WRITE", 23}, {"MADV_DONTNEED_LOCKED", 24}, {"MADV_COLLAPSE", 25},
    {"MADV_HWPOISON", 100}, {"MADV_SOFT_OFFLINE", 101}, {"MADV_GUARD_INSTALL", 102},
    {"MADV_GUARD_REMOVE", 103}};
constexpr flag_name kMremap[] = {{"MREMAP_MAYMOVE", 1}, {"MREMAP_FIXED", 2}, {"MREMAP_DONTUNMAP", 4}};
constexpr flag_name kMlock[] = {{"MLOCK_ONFAULT", 1}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "NULL", "0x7f12", "4096", "-1"; a `/* comment */` after the number is allowed.
std::optional<std::uint64_t> number(std::string_view s) {
  s = trim(s);
  if (auto c = s.find("/*"); c != std::string_view::npos) s = trim(s.substr(0, c));
  if (s == "NULL") return 0;
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  int base = 10;
  if (starts_with(s, "0x")) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char ch : s) {
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (base == 16 && ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (base == 16 && ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else return std::nullopt;
    v = v * base + d;
  }
  return neg ? ~v + 1 : v;
}

// "PROT_READ|PROT_WRITE", "MAP_PRIVATE|0x80000 /* MAP_??? */", "0".
template <std::size_t N>
std::optional<std::uint64_t> flags(std::string_view s, const flag_name (&table)[N]) {
  s = trim(s);
  if (auto c = s.find("/*"); c != std::string_view::npos) s = trim(s.substr(0, c));
  std::uint64_t v = 0;
  while (!s.empty()) {
    std::size_t bar = s.find('|');
    std::string_view tok = trim(s.substr(0, bar));
    s = bar == std::string_view::npos ? std::string_view{} : s.substr(bar + 1);
    bool found = false;
    for (const flag_name& f : table)
      if (f.name == tok) {
        v |= f.value;
        found = true;
        break;
      }
    if (found) continue;
    auto n = number(tok);
    if (!n) return std::nullopt;
    v |= *n;
  }
  return v;
}

// Top-level comma-separated arguments; brackets, quotes and -y's <path> nest.
std::vector<std::string_view> split_args(std::string_view s) {
  std::vector<std::string_view> out;
  int depth = 0;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (quoted) {
      if (ch == '\\') ++i;
      else if (ch == '"') quoted = false;
      continue;
    }
    if (ch == '"') quoted = true;
    else if (ch == '(' || ch == '[' || ch == '{' || ch == '<') ++depth;
    else if (ch == ')' || ch == ']' || ch == '}' || ch == '>') --depth;
    else if (ch == ',' && depth == 0) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (!trim(s.substr(start)).empty() || !out.empty()) out.push_back(trim(s.substr(start)));
  return out;
}

std::optional<mem_sys> sys_of(std::string_view name) {
  if (name == "mmap") return mem_sys::mmap;
  if (name == "munmap") return mem_sys::munmap;
  if (name == "mprotect") return mem_sys::mprotect;
  if (name == "pkey_mprotect") return mem_sys::pkey_mprotect;
  if (name == "mremap") return mem_sys::mremap;
  if (name == "madvise") return mem_sys::madvise;
  if (name == "brk") return mem_sys::brk;
  if (name == "mlock") return mem_sys::mlock;
  if (name == "mlock2") return mem_sys::mlock2;
  if (name == "munlock") return mem_sys::munlock;
  // strace's trace=memory class (src/linux/x86_64/syscallent.h, TM) beyond those: no sdtrace
  // operation; they become comments.
  static constexpr std::string_view others[] = {
      "mlockall", "munlockall", "msync", "mincore", "shmat", "shmdt", "remap_file_pages", "mbind",
      "get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "migrate_pages", "move_pages",
      "pkey_alloc", "pkey_free", "process_madvise", "process_mrelease", "mseal",
      "map_shadow_stack", "memfd_secret"};
  for (std::string_view o : others)
    if (name == o) return mem_sys::other;
  return std::nullopt;
}

// The fd argument of mmap: "-1", "3", or with -y "3</usr/lib/libc.so.6>".
std::optional<file_ident> fd_file(std::string_view arg, bool& have_paths) {
  arg = trim(arg);
  std::size_t lt = arg.find('<');
  if (lt == std::string_view::npos) {
    auto n = number(arg);
    if (!n) return std::nullopt;
    file_ident f;
    f.name = "fd" + std::to_string(static_cast<std::int64_t>(*n));
    return f;
  }
  have_paths = true;
  std::string_view path = arg.substr(lt + 1);
  if (!path.empty() && path.back() == '>') path.remove_suffix(1);
  file_ident f;
  const std::string_view deleted = " (deleted)";
  if (path.size() > deleted.size() && path.substr(path.size() - deleted.size()) == deleted)
    path.remove_suffix(deleted.size());
  if (starts_with(path, "/memfd:")) {
    f.kind = file_ident::kind::memfd;
    f.name = "memfd/" + trace_file_name(path.substr(7));
  } else if (path == "/dev/zero") {
    f.kind = file_ident::kind::dev_zero;
    f.name = "/dev/zero";
  } else {
    f.kind = starts_with(path, "/dev/") || !starts_with(path, "/") ? file_ident::kind::other
                                                                    : file_ident::kind::regular;
    f.name = trace_file_name(path);
  }
  return f;
}

// "ARGS)   = RESULT" (strace pads short calls to a column): the arguments without the closing
// parenthesis, and the result.
std::optional<std::pair<std::string, std::string>> split_result(std::string_view rest) {
  for (std::size_t eq = rest.rfind(" = "); eq != std::string_view::npos && eq > 0;
       eq = rest.rfind(" = ", eq - 1)) {
    std::string_view left = trim(rest.substr(0, eq));
    if (!left.empty() && left.back() == ')')
      return std::make_pair(std::string(left.substr(0, left.size() - 1)), std::string(rest.substr(eq + 3)));
    if (eq == 0) break;
  }
  return std::nullopt;
}

// One completed system call of the log (an unfinished line joined with its resumption).
struct call_record {
  int no = 0;  // the line that completed it
  std::string tid, name, args, result;
};

struct process {
  std::string key;
  translator tr;
  std::string body;
  std::size_t calls = 0;
  int image = 0;
  bool fd_names = false;
};

class importer {
 public:
  importer(std::string kernel, std::string source) : kernel_(std::move(kernel)), source_(std::move(source)) {}
  void line(int no, std::string_view text);
  strace_import finish();

 private:
  void problem(int no, std::string what) { out_.problems.push_back({no, std::move(what)}); }
  void call(process& p, const call_record& r);
  void close_image(process& p);
  std::string group_of(const std::string& tid) const;

  std::string kernel_, source_;
  std::vector<call_record> records_;
  std::map<std::string, std::pair<std::string, std::string>> unfinished_;  // tid -> name, args so far
  std::map<std::string, std::string> thread_of_;  // thread id -> the id that created it
  std::map<std::string, process> procs_;
  strace_import out_;
};

std::string importer::group_of(const std::string& tid) const {
  std::string t = tid;
  for (int hops = 0; hops < 64; ++hops) {  // a chain of threads creating threads
    auto it = thread_of_.find(t);
    if (it == thread_of_.end()) break;
    t = it->second;
  }
  return t;
}

void importer::close_image(process& p) {
  if (p.calls == 0 && p.body.empty()) return;
  std::string key = p.image == 0 ? p.key : fmt::format("{}.{}", p.key, p.image);
  std::string head = fmt::format(
      "sdtrace 1\nkernel {}\n"
      "# sdmc import-strace {}: process {}{}\n"
      "# Layout only: strace shows the system calls, not the stores and loads. Mappings made\n"
      "# before the first call shown (by execve: the program, the loader, the stack; or\n"
      "# inherited through fork) are not here, so calls on them differ in replay. Threads are\n"
      "# one process only when the log shows their clone (strace -e trace=memory,clone,clone3).\n"
      "# Each mmap names the address the kernel returned. A file is named by its path (strace\n"
      "# -y), a memfd as memfd/NAME{}\n",
      kernel_, source_, p.key, p.image ? fmt::format(", program {} it exec'd", p.image) : "",
      p.fd_names ? "; without -y a file is fdN, its descriptor number, so different files\n"
                   "# opened under one number look like one file"
                 : ".");
  out_.traces[key] = head + p.body;
  p.body.clear();
  p.calls = 0;
  p.tr = translator{};
}

void importer::call(process& p, const call_record& r) {
  const int no = r.no;
  const std::string& name = r.name;
  std::string_view args = r.args, result = trim(r.result);
  if (name == "execve" || name == "execveat") {
    // A new program: what follows belongs to a fresh address space (fs/exec.c:exec_mmap).
    if (starts_with(result, "0") && (p.calls > 0 || !p.body.empty())) {
      close_image(p);
      ++p.image;
    }
    return;
  }
  auto sys = sys_of(name);
  if (!sys) return;  // another system call: understood, not about memory
  // The result: "0x7f..", "0", "-1 ENOMEM (Cannot allocate memory)", "?" (never returned).
  if (starts_with(result, "?")) {
    p.body += fmt::format("# {}({}) did not return (line {})\n", name, args, no);
    return;
  }
  std::int64_t ret;
  {
    std::string_view rv = result.substr(0, result.find(' '));
    auto v = number(rv);
    if (!v) return problem(no, fmt::format("cannot read the result '{}' of {}", result, name));
    ret = static_cast<std::int64_t>(*v);
    if (ret == -1) {
      std::string_view rest = trim(result.substr(rv.size()));
      std::string_view err = rest.substr(0, rest.find(' '));
      auto e = trace::errno_from_name(err);
      if (!e) {
        p.body += fmt::format("# {}({}) = {} (line {}): errno not in the sdtrace table\n", name, args,
                              result, no);
        return;
      }
      ret = -*e;
    }
  }
  if (*sys == mem_sys::other) {
    p.body += fmt::format("# {}({}) = {}: not expressible in sdtrace\n", name, args, result);
    return;
  }
  std::vector<std::string_view> a = split_args(args);
  mem_call c;
  c.sys = *sys;
  c.name = name;
  c.ret = ret;
  auto need = [&](std::size_t n) {
    if (a.size() >= n) return true;
    problem(no, fmt::format("{} with {} arguments, expected {}", name, a.size(), n));
    return false;
  };
  auto num = [&](std::size_t i, std::uint64_t& v) {
    auto n = number(a[i]);
    if (!n) problem(no, fmt::format("argument {} of {} is not a number: '{}'", i + 1, name, a[i]));
    else v = *n;
    return n.has_value();
  };
  auto flg = [&](std::size_t i, std::uint64_t& v, const auto& table) {
    auto n = flags(a[i], table);
    if (!n) problem(no, fmt::format("argument {} of {}: unknown flags '{}'", i + 1, name, a[i]));
    else v = *n;
    return n.has_value();
  };
  bool ok = true;
  switch (*sys) {
    case mem_sys::mmap:
      ok = need(6) && num(0, c.args[0]) && num(1, c.args[1]) && flg(2, c.args[2], kProt) &&
           flg(3, c.args[3], kMap) && num(5, c.args[5]);
      if (ok && !(c.args[3] & MAP_ANONYMOUS)) {
        bool paths = false;
        c.file = fd_file(a[4], paths);
        if (!c.file) {
          problem(no, fmt::format("argument 5 of mmap is not a descriptor: '{}'", a[4]));
          ok = false;
        } else if (!paths) {
          p.fd_names = true;
        }
      }
      break;
    case mem_sys::munmap:
    case mem_sys::mlock:
    case mem_sys::munlock: ok = need(2) && num(0, c.args[0]) && num(1, c.args[1]); break;
    case mem_sys::mprotect:
      ok = need(3) && num(0, c.args[0]) && num(1, c.args[1]) && flg(2, c.args[2], kProt);
      break;
    case mem_sys::pkey_mprotect:
      ok = need(4) && num(0, c.args[0]) && num(1, c.args[1]) && flg(2, c.args[2], kProt) && num(3, c.args[3]);
      break;
    case mem_sys::mremap:
      ok = need(4) && num(0, c.args[0]) && num(1, c.args[1]) && num(2, c.args[2]) &&
           flg(3, c.args[3], kMremap) && (a.size() < 5 || num(4, c.args[4]));
      break;
    case mem_sys::madvise:
      ok = need(3) && num(0, c.args[0]) && num(1, c.args[1]) && flg(2, c.args[2], kMadv);
      break;
    case mem_sys::mlock2:
      ok = need(3) && num(0, c.args[0]) && num(1, c.args[1]) && flg(2, c.args[2], kMlock);
      break;
    case mem_sys::brk: ok = need(1) && num(0, c.args[0]); break;
    case mem_sys::other: break;
  }
  if (!ok) return;
  c.nargs = static_cast<unsigned>(a.size());
  translated t = p.tr(c);
  for (const std::string& s : t.comments) p.body += "# " + s + "\n";
  for (const trace::Line& l : t.lines) p.body += trace::format_line(l) + "\n";
  ++p.calls;
  ++out_.calls;
}

void importer::line(int no, std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return;
  if (starts_with(s, "strace: ")) return;  // strace's own messages: "Process 12 attached", ...
  // The first process has no prefix when strace writes to stderr; with -o every line has one.
  std::string tid = "main";
  if (starts_with(s, "[pid ")) {
    std::size_t close = s.find(']');
    if (close == std::string_view::npos) return problem(no, "'[pid' without ']'");
    tid = std::string(trim(s.substr(5, close - 5)));
    s = trim(s.substr(close + 1));
  } else if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    std::size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {  // "1234 mmap(" (strace -f -o FILE)
      tid = std::string(s.substr(0, i));
      s = trim(s.substr(i));
    }
  }
  // -t "10:20:30", -tt "10:20:30.123456", -ttt "1700000000.123456", -r "0.000123"
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == ':' || s[i] == '.')) ++i;
    if (i == s.size() || (s[i] != ' ' && s[i] != '\t'))
      return problem(no, fmt::format("cannot read '{}'", text));
    s = trim(s.substr(i));
  }
  if (starts_with(s, "--- ") || starts_with(s, "+++ ")) return;  // a signal, an exit
  if (starts_with(s, "<... ")) {
    std::size_t resumed = s.find(" resumed>");
    if (resumed == std::string_view::npos) return problem(no, "'<...' without 'resumed>'");
    std::string name(trim(s.substr(5, resumed - 5)));
    auto u = unfinished_.find(tid);
    if (u == unfinished_.end() || u->second.first != name)
      return problem(no, fmt::format("{} resumed, but {} has no unfinished {}", name, tid, name));
    std::string whole = u->second.second + std::string(s.substr(resumed + 9));
    unfinished_.erase(u);
    auto parts = split_result(whole);
    if (!parts) return problem(no, fmt::format("no ') = RESULT' after {} resumed", name));
    records_.push_back({no, tid, name, parts->first, parts->second});
    return;
  }
  std::size_t paren = s.find('(');
  if (paren == std::string_view::npos || paren == 0)
    return problem(no, fmt::format("not a system call line: '{}'", text));
  std::string name(s.substr(0, paren));
  for (char ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '?')
      return problem(no, fmt::format("not a system call line: '{}'", text));
  std::string_view rest = s.substr(paren + 1);
  const std::string_view unfinished = "<unfinished ...>";
  if (rest.size() >= unfinished.size() && rest.substr(rest.size() - unfinished.size()) == unfinished) {
    if (unfinished_.count(tid))
      return problem(no, fmt::format("{} has an unfinished {} already", tid, unfinished_[tid].first));
    unfinished_[tid] = {name, std::string(rest.substr(0, rest.size() - unfinished.size()))};
    return;
  }
  auto parts = split_result(rest);
  if (!parts) return problem(no, fmt::format("no ') = RESULT' in '{}'", text));
  records_.push_back({no, tid, name, parts->first, parts->second});
}

strace_import importer::finish() {
  // A thread shares its creator's address space: clone/clone3 with CLONE_THREAD (when the log
  // has them) put its calls into the creator's trace.
  for (const call_record& r : records_) {
    if ((r.name == "clone" || r.name == "clone3") && r.args.find("CLONE_THREAD") != std::string::npos) {
      auto child = number(trim(r.result).substr(0, trim(r.result).find(' ')));
      if (child && static_cast<std::int64_t>(*child) > 0) thread_of_[std::to_string(*child)] = r.tid;
    }
  }
  for (const call_record& r : records_) {
    const std::string key = group_of(r.tid);
    auto [it, inserted] = procs_.try_emplace(key);
    if (inserted) it->second.key = key;
    call(it->second, r);
  }
  for (auto& [tid, u] : unfinished_) {
    process& p = procs_[group_of(tid)];
    if (p.key.empty()) p.key = group_of(tid);
    p.body += fmt::format("# {}({}) never resumed: the log ends first\n", u.first, u.second);
  }
  for (auto& [key, p] : procs_) close_image(p);
  // Parsing finds some problems and conversion the others: report them in log order.
  std::stable_sort(out_.problems.begin(), out_.problems.end(),
                   [](const strace_problem& a, const strace_problem& b) { return a.line < b.line; });
  return std::move(out_);
}

}  // namespace

strace_import import_strace(std::string_view log, const std::string& kernel, const std::string& source) {
  importer im(kernel, source);
  int no = 0;
  while (!log.empty()) {
    std::size_t nl = log.find('\n');
    ++no;
    im.line(no, log.substr(0, nl));
    if (nl == std::string_view::npos) break;
    log.remove_prefix(nl + 1);
  }
  return im.finish();
}

}  // namespace sdmc::record
