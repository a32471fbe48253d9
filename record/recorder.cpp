#include "record/recorder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "record/uapi.hpp"

namespace sdmc::record {

namespace {

constexpr std::uint64_t kPage = trace::kPageSize;
// TASK_SIZE_MAX with 4-level page tables (arch/x86/include/asm/page_64_types.h): PAGEMAP_SCAN
// checks the range with access_ok against it.
constexpr std::uint64_t kUserEnd = 0x7ffffffff000ull;

// The largest range write-tracked in one piece (see recorder::track).
constexpr std::uint64_t kMaxTracked = 4ull << 30;

std::uint64_t page_up(std::uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

using pinterval = boost::icl::discrete_interval<std::uint64_t>;
pinterval pages(std::uint64_t start, std::uint64_t end) {
  return pinterval::right_open(start / kPage, page_up(end) / kPage);
}

page_set to_pages(const std::vector<page_run>& runs) {
  page_set s;
  for (const page_run& r : runs) s += pages(r.start, r.end);
  return s;
}

trace::Line op_line(trace::Op op, std::optional<std::int64_t> ret = std::nullopt) {
  trace::Line l;
  l.op = std::move(op);
  if (ret) {
    l.expected.kind = trace::Result::Kind::Value;
    l.expected.value = static_cast<std::uint64_t>(*ret);
  }
  return l;
}

bool zaps(std::uint64_t advice) {
  // mm/madvise.c: these drop the pages (and, for anonymous memory, the uffd-wp markers with
  // them: mm/memory.c:zap_install_uffd_wp_if_needed returns early for anonymous VMAs).
  switch (advice) {
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE:
    case MADV_REMOVE:
    case MADV_PAGEOUT:
    case MADV_GUARD_INSTALL: return true;
    default: return false;
  }
}

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

}  // namespace

unsigned nargs_of(mem_sys s) {
  switch (s) {
    case mem_sys::brk: return 1;
    case mem_sys::munmap:
    case mem_sys::mlock:
    case mem_sys::munlock: return 2;
    case mem_sys::mprotect:
    case mem_sys::madvise:
    case mem_sys::mlock2: return 3;
    case mem_sys::pkey_mprotect: return 4;
    case mem_sys::mremap: return 5;
    default: return 6;
  }
}

recorder::recorder(std::string command, std::string kernel, unsigned interval_ms, bool epoch_per_call)
    : epoch_per_call_(epoch_per_call) {
  header_ = "sdtrace 1\nkernel " + kernel + "\n";
  header_ += fmt::format(
      "# sdmc record --interval {}{} -- {}\n"
      "# recorded {} on Linux {}\n"
      "#\n"
      "# How to read this trace:\n"
      "# - Each mmap names the address the kernel chose; `fixed` only where the program passed\n"
      "#   MAP_FIXED. Every system call line carries its real result (`= ...`).\n"
      "# - A regular file (the ELF files exec and the loader map, or any other) is written as the\n"
      "#   memory file of the same name, `ro` when opened read-only: the same merge rules (one\n"
      "#   file, contiguous offsets); its page-cache content is not recorded. A memfd is\n"
      "#   file=memfd/NAME.INODE. /dev/zero is anonymous memory, as the kernel makes it.\n"
      "# - [vdso], [vvar] and other special mappings are left out: they never merge and are never\n"
      "#   written. The main stack is a private anonymous mapping; when it grows down, an mmap of\n"
      "#   the grown part (which merges with it) precedes the first access.\n"
      "# - Stores and loads: the recorder harvests the pages written since the last harvest\n"
      "#   (userfaultfd async write-protect, with UFFD_FEATURE_EVENT_REMAP so that mremap keeps\n"
      "#   the registrations; PAGEMAP_SCAN with PM_SCAN_WP_MATCHING reports PAGE_IS_WRITTEN\n"
      "#   and protects again) and the pages that became present without a\n"
      "#   write (written as `read`). {}\n"
      "#   Which store came first within one harvest is not known.\n"
      "# - Only this process: a forked child is not recorded (the parent's trace shows `fork`),\n"
      "#   and an execve ends the trace. With threads, a store made by another thread between\n"
      "#   a harvest and the next call's effect appears after that call.\n",
      interval_ms, epoch_per_call ? " --epoch-per-call" : "", command, today(), kernel,
      epoch_per_call
          ? fmt::format("It harvests everything before every memory system call\n"
                        "#   and every {} ms, each harvest ending with `epoch`.", interval_ms)
          : fmt::format("Before each memory system call it harvests the pages that\n"
                        "#   call can affect, so every store precedes the layout change of its page;\n"
                        "#   every {} ms, and before fork, execve and exit, it harvests everything\n"
                        "#   and writes `epoch`: an epoch is one interval of a periodic reader.",
                        interval_ms));
}

void recorder::comment(const std::string& s) {
  body_ += "# " + s + "\n";
  ++stats_.comments;
}

void recorder::emit(const trace::Line& l) { body_ += trace::format_line(l) + "\n"; }

void recorder::track(std::uint64_t start, std::uint64_t end) {
  for (range r : layout_.to_register(start, end)) {
    if (r.end - r.start > kMaxTracked) {
      // With WP_UNPOPULATED, write-protecting installs a marker in every page-table entry
      // (mm/mprotect.c:change_pte_range), so a huge reservation (ASan's shadow is 16 TiB)
      // would cost gigabytes of page tables. Such ranges are left untracked, and said so.
      ++stats_.track_failures;
      comment(fmt::format("{:#x}-{:#x} ({} MiB) is too large to write-track: its stores are not "
                          "recorded", r.start, r.end, (r.end - r.start) >> 20));
      continue;
    }
    int err = wp_.track(r);
    if (err) {
      ++stats_.track_failures;
      comment(fmt::format("userfaultfd refused {:#x}-{:#x} ({}): its stores are not recorded",
                          r.start, r.end, std::strerror(err)));
      continue;
    }
    layout_.set_registered(r.start, r.end, true);
  }
}

void recorder::reprotect(std::uint64_t start, std::uint64_t end) {
  for (range r : layout_.registered(start, end)) wp_.protect(r);
}

void recorder::forget_present(std::uint64_t start, std::uint64_t end) {
  known_present_ -= pages(start, end);
}

void recorder::prologue(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  body_ += "# prologue: the address space execve made (/proc/PID/maps)\n";
  std::vector<std::string> left_out;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string span, perms, offset, dev, inode, path;
    in >> span >> perms >> offset >> dev >> inode;
    std::getline(in >> std::ws, path);
    const std::uint64_t start = std::stoull(span, nullptr, 16);
    const std::uint64_t end = std::stoull(span.substr(span.find('-') + 1), nullptr, 16);
    if (end > kUserEnd) continue;  // [vsyscall]: above the user address space
    segment s;
    s.prot = static_cast<std::uint8_t>((perms[0] == 'r' ? trace::PROT_R : 0) |
                                       (perms[1] == 'w' ? trace::PROT_W : 0) |
                                       (perms[2] == 'x' ? trace::PROT_X : 0));
    if (!path.empty() && path[0] == '[' && path != "[stack]" && path != "[heap]") {
      s.special = true;
      layout_.map(start, end, s);
      left_out.push_back(fmt::format("{} {:#x}-{:#x}", path, start, end));
      continue;
    }
    trace::Mmap m;
    m.addr = start;
    m.len = end - start;
    m.prot = *prot_of((perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                      (perms[2] == 'x' ? PROT_EXEC : 0));
    m.sharing = perms[3] == 's' ? trace::Sharing::Shared : trace::Sharing::Private;
    if (inode != "0" && !path.empty()) {
      // binfmt_elf maps the program and its interpreter from files opened read-only.
      const bool memfd = path.rfind("/memfd:", 0) == 0;
      std::string name = memfd ? "memfd/" + trace_file_name(path.substr(7)) + "." + inode
                               : trace_file_name(path);
      m.file = trace::FileRef{name, std::stoull(offset, nullptr, 16), true};
    }
    s.registrable = true;
    s.stack = path == "[stack]";
    layout_.map(start, end, s);
    if (s.stack) body_ += "# [stack]\n";
    if (path == "[heap]" && translate_.brk && *translate_.brk == start) {
      // A heap exec already grew (binfmt_elf can place brk after a bss): the brk that made it,
      // so that later brk lines continue from it.
      emit(op_line(trace::Brk{start, end}, static_cast<std::int64_t>(end)));
      translate_.brk = end;
      continue;
    }
    emit(op_line(m, static_cast<std::int64_t>(start)));
  }
  for (const std::string& s : left_out) comment("left out: " + s);
}

bool recorder::start(pid_t pid, int uffd, std::string& error) {
  pid_ = pid;
  int pagemap = ::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) {
    ::close(uffd);
    error = std::string("cannot open /proc/PID/pagemap: ") + std::strerror(errno);
    return false;
  }
  if (!wp_.open(uffd, pagemap, error)) return false;
  // The break exec left: field 47 of /proc/PID/stat, start_brk (fs/proc/array.c:do_task_stat);
  // exec sets brk = start_brk (fs/binfmt_elf.c).
  {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream in(all.substr(all.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 47 && in >> field; ++i)
      if (i == 47) translate_.brk = std::stoull(field);
  }
  prologue(pid);
  // What exec wrote (the stack's arguments and environment, the zeroed tail of a data segment)
  // is a private page that is not the page cache's: a store. Other present pages were read.
  page_set written, read;
  for (auto& [start, s] : layout_.segments()) {
    if (s.special) continue;
    std::vector<page_run> runs;
    if (int err = wp_.scan({start, s.end}, PAGE_IS_PRESENT,
                           PAGE_IS_PRESENT | PAGE_IS_FILE | PAGE_IS_PFNZERO, runs)) {
      error = std::string("PAGEMAP_SCAN: ") + std::strerror(err) + " (needs Linux 6.7 or later)";
      return false;
    }
    for (const page_run& r : runs) {
      if (r.categories & (PAGE_IS_FILE | PAGE_IS_PFNZERO)) read += pages(r.start, r.end);
      else written += pages(r.start, r.end);
    }
  }
  for (auto& iv : read) emit(op_line(trace::Read{iv.lower() * kPage, (iv.upper() - iv.lower()) * kPage}));
  for (auto& iv : written)
    emit(op_line(trace::Write{iv.lower() * kPage, (iv.upper() - iv.lower()) * kPage}));
  stats_.read_pages += boost::icl::length(read);
  stats_.written_pages += boost::icl::length(written);
  known_present_ = read + written;
  for (auto& [start, s] : std::map<std::uint64_t, segment>(layout_.segments())) track(start, s.end);
  emit(op_line(trace::Epoch{}));
  body_ += "# the program\n";
  started_ = true;
  return true;
}

void recorder::collect(std::uint64_t start, std::uint64_t end, bool untracked) {
  std::vector<page_run> runs;
  // The registered ranges, with the gap below the stack when the whole space is harvested, minus
  // the pages of calls in flight in other threads.
  boost::icl::interval_set<std::uint64_t> scan;
  for (range r : untracked ? layout_.scan_ranges() : layout_.registered(start, end))
    scan += boost::icl::discrete_interval<std::uint64_t>::right_open(r.start, r.end);
  for (auto& [tid, ranges] : in_flight_)
    for (range r : ranges) scan -= boost::icl::discrete_interval<std::uint64_t>::right_open(r.start, r.end);
  std::vector<range> tracked;
  for (auto& iv : scan) tracked.push_back({iv.lower(), iv.upper()});
  for (range r : tracked) {
    int err = wp_.take(r, runs);
    if (err == ESRCH) {
      // The last thread is past exit_mm (kernel/exit.c): the address space is gone, and with
      // it every store still to come.
      mm_gone_ = true;
      return;
    }
    if (err)
      comment(fmt::format("PAGEMAP_SCAN with PM_SCAN_WP_MATCHING over {:#x}-{:#x} failed: {}",
                          r.start, r.end, std::strerror(err)));
  }
  page_set present, written;
  for (const page_run& r : runs) {
    if (r.categories & PAGE_IS_PRESENT) present += pages(r.start, r.end);
    if (r.categories & PAGE_IS_WRITTEN) written += pages(r.start, r.end);
  }
  if (untracked) {
    runs.clear();
    if (int err = wp_.present_untracked({start, end}, runs); err && err != ESRCH)
      comment(fmt::format("PAGEMAP_SCAN for present pages failed: {}", std::strerror(err)));
    present += to_pages(runs);
    // A page below the stack: the stack VMA grew down (mm/mmap.c:expand_downwards).
    if (auto w = layout_.stack_window()) {
      page_set below = (present + written) & pages(w->start, w->end);
      if (!below.empty()) {
        const std::uint64_t low = boost::icl::first(below) * kPage;
        trace::Mmap m;
        m.addr = low;
        m.len = w->end - low;
        m.prot = trace::PROT_R | trace::PROT_W;
        body_ += "# [stack] grew down\n";
        emit(op_line(m, static_cast<std::int64_t>(low)));
        layout_.grow_stack(low);
      }
    }
  }
  emit_accesses(present, written);
}

void recorder::emit_accesses(const page_set& present, const page_set& written) {
  auto pieces = [&](const page_set& set, bool store) {
    std::uint64_t count = 0;
    for (auto& iv : set) {
      std::uint64_t a = iv.lower() * kPage;
      const std::uint64_t end = iv.upper() * kPage;
      while (a < end) {
        auto seg = layout_.find(a);
        std::uint64_t piece_end = end;
        if (!seg) {
          // Up to the next segment: a gap in what the trace knows is mapped.
          auto next = layout_.segments().upper_bound(a);
          if (next != layout_.segments().end()) piece_end = std::min(end, next->first);
          if (stats_.outside_pages < 64)
            comment(fmt::format("{} {:#x} {}p is outside every recorded mapping",
                                store ? "write" : "read", a, (piece_end - a) / kPage));
          stats_.outside_pages += (piece_end - a) / kPage;
          a = piece_end;
          continue;
        }
        piece_end = std::min(end, seg->second.end);
        const segment& s = seg->second;
        const std::uint64_t n = (piece_end - a) / kPage;
        if (s.special) {
          // [vdso] text and the like: not part of the trace.
        } else if (store && !(s.prot & trace::PROT_W)) {
          // The store happened before a protection change that another thread made after the
          // last harvest; writing it after that change would replay as SIGSEGV.
          comment(fmt::format("write {:#x} {}p: raced with a protection change", a, n));
          stats_.raced_writes += n;
        } else if (!store && !(s.prot & trace::PROT_R)) {
          // Present but no longer readable: made PROT_NONE after a load this harvest is late for.
        } else {
          if (store) emit(op_line(trace::Write{a, piece_end - a}));
          else emit(op_line(trace::Read{a, piece_end - a}));
          count += n;
        }
        a = piece_end;
      }
    }
    return count;
  };
  const page_set loads = present - known_present_ - written;
  stats_.read_pages += pieces(loads, false);
  stats_.written_pages += pieces(written, true);
  known_present_ += present;
  known_present_ += written;
}

void recorder::harvest() {
  if (!started_ || finished_ || mm_gone_) return;
  ++stats_.harvests;
  collect(0, kUserEnd, true);
  emit(op_line(trace::Epoch{}));
}

namespace {
std::vector<range> affected(const mem_call& c, std::optional<std::uint64_t> brk) {
  // What the call can change: its range, and for mremap the target; a new mapping at a free
  // address or a growing brk touches no page that exists.
  std::vector<range> out;
  const std::uint64_t a = c.args[0], len = page_up(c.args[1]);
  switch (c.sys) {
    case mem_sys::mmap:
      if (c.args[3] & MAP_FIXED) out.push_back({a, a + len});
      break;
    case mem_sys::mremap:
      out.push_back({a, a + len});
      if (c.args[3] & MREMAP_FIXED) out.push_back({c.args[4], c.args[4] + page_up(c.args[2])});
      break;
    case mem_sys::brk:
      if (brk && c.args[0] && page_up(c.args[0]) < page_up(*brk))
        out.push_back({page_up(c.args[0]), page_up(*brk)});
      break;
    case mem_sys::other: break;
    default: out.push_back({a, a + len}); break;
  }
  std::erase_if(out, [](range r) { return r.start >= r.end; });
  return out;
}
}  // namespace

void recorder::before_call(int tid, const mem_call& c) {
  if (!started_ || finished_ || mm_gone_) return;
  const std::vector<range> aff = affected(c, translate_.brk);
  if (epoch_per_call_ || c.sys == mem_sys::other) harvest();
  else
    for (range r : aff) collect(r.start, r.end, false);
  in_flight_[tid] = aff;
}

void recorder::after_call(int tid, const mem_call& c) {
  in_flight_.erase(tid);
  if (!started_ || finished_) return;
  ++stats_.calls;
  const std::optional<std::uint64_t> brk_before = translate_.brk;
  translated t = translate_(c);
  for (const std::string& s : t.comments) comment(s);
  for (const trace::Line& l : t.lines) emit(l);
  if (c.ret < 0) return;
  const std::uint64_t a = c.args[0], len = page_up(c.args[1]);
  switch (c.sys) {
    case mem_sys::mmap: {
      const std::uint64_t addr = static_cast<std::uint64_t>(c.ret), flags = c.args[3];
      segment s;
      s.prot = prot_of(c.args[2] & (PROT_READ | PROT_WRITE | PROT_EXEC)).value_or(0);
      const bool hugetlb = flags & MAP_HUGETLB, droppable = (flags & 0x0f) == MAP_DROPPABLE;
      const bool other = !(flags & MAP_ANONYMOUS) && (!c.file || c.file->kind == file_ident::kind::other);
      s.registrable = !hugetlb && !droppable && !other;
      layout_.map(addr, addr + len, s);
      forget_present(addr, addr + len);
      track(addr, addr + len);
      break;
    }
    case mem_sys::munmap:
      layout_.unmap(a, a + len);
      forget_present(a, a + len);
      break;
    case mem_sys::mprotect:
    case mem_sys::pkey_mprotect:
      layout_.protect(a, a + len, prot_of(c.args[2] & (PROT_READ | PROT_WRITE | PROT_EXEC)).value_or(0));
      track(a, a + len);
      break;
    case mem_sys::mremap: {
      const std::uint64_t old_len = page_up(c.args[1]), new_len = page_up(c.args[2]);
      const std::uint64_t to = static_cast<std::uint64_t>(c.ret);
      const bool dontunmap = c.args[3] & MREMAP_DONTUNMAP;
      // The moved pages stay present at their new address (mm/mremap.c:move_ptes).
      page_set moved = known_present_ & pages(a, a + std::min(old_len, new_len));
      forget_present(a, a + std::max(old_len, new_len));
      if (old_len == 0) moved.clear();
      for (auto& iv : moved) known_present_ += pinterval::right_open(iv.lower() - a / kPage + to / kPage,
                                                                    iv.upper() - a / kPage + to / kPage);
      layout_.move(a, old_len, to, new_len, dontunmap);
      track(to, to + new_len);
      break;
    }
    case mem_sys::brk:
      if (brk_before && translate_.brk) {
        const std::uint64_t from = page_up(*brk_before), to = page_up(*translate_.brk);
        if (to > from) {
          segment s;
          s.prot = trace::PROT_R | trace::PROT_W;
          s.registrable = true;
          layout_.map(from, to, s);
          forget_present(from, to);
          track(from, to);
        } else if (to < from) {
          layout_.unmap(to, from);
          forget_present(to, from);
        }
      }
      break;
    case mem_sys::madvise:
      if (zaps(c.args[2])) {
        forget_present(a, a + len);
        reprotect(a, a + len);
      }
      break;
    default: break;
  }
}

void recorder::on_fork() {
  if (!started_ || finished_) return;
  harvest();
  trace::Line l = op_line(trace::Fork{}, 0);
  emit(l);
}

void recorder::finish(const std::string& why) {
  if (finished_) return;
  finished_ = true;
  if (!started_) return;
  body_ += fmt::format(
      "# end: {}\n# {} memory calls, {} full harvests, {} pages written, {} pages read, {} comments\n",
      why, stats_.calls, stats_.harvests, stats_.written_pages, stats_.read_pages, stats_.comments);
  if (stats_.raced_writes || stats_.outside_pages || stats_.track_failures)
    body_ += fmt::format("# warnings: {} raced store pages, {} pages outside recorded mappings, {} "
                         "ranges not write-tracked\n",
                         stats_.raced_writes, stats_.outside_pages, stats_.track_failures);
}

}  // namespace sdmc::record
