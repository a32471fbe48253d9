// mem_call -> sdtrace operations. Each rule names the kernel behaviour it keeps.
#include <fmt/format.h>

#include "record/mem_call.hpp"
#include "record/uapi.hpp"

namespace sdmc::record {

using trace::Line;
using trace::Result;

namespace {

Result result_of(std::int64_t ret) {
  Result r;
  if (ret < 0) {
    r.kind = Result::Kind::Errno;
    r.err = static_cast<int>(-ret);
  } else {
    r.kind = Result::Kind::Value;
    r.value = static_cast<std::uint64_t>(ret);
  }
  return r;
}

// An errno the format cannot name (only the table in traces/names.cpp parses) cannot be written
// as `= -E...`; such a call becomes a comment.
bool expressible(std::int64_t ret) {
  return ret >= 0 || !trace::errno_name(static_cast<int>(-ret)).empty();
}

Line line_of(trace::Op op, std::int64_t ret) {
  Line l;
  l.op = std::move(op);
  l.expected = result_of(ret);
  return l;
}

void mmap_call(const mem_call& c, translated& t) {
  const std::uint64_t addr = c.args[0], len = c.args[1], prot = c.args[2], flags = c.args[3],
                      off = c.args[5];
  const bool fixed = flags & MAP_FIXED;
  const bool noreplace = flags & MAP_FIXED_NOREPLACE;
  if (c.ret < 0 && !fixed && !noreplace) {
    // The kernel chose no address, so the format (which names the effective one) has nothing to say.
    t.comments.push_back(describe(c) + ": failed without an address, not replayable");
    return;
  }
  if (!expressible(c.ret)) {
    t.comments.push_back(describe(c) + ": errno not in the sdtrace table");
    return;
  }
  trace::Mmap m;
  m.addr = c.ret >= 0 ? static_cast<std::uint64_t>(c.ret) : addr;
  m.len = len;
  auto p = prot_of(prot & ~static_cast<std::uint64_t>(PROT_GROWSDOWN | PROT_GROWSUP));
  if (!p) {
    t.comments.push_back(describe(c) + ": protection bits sdtrace has no name for");
    return;
  }
  m.prot = *p;
  switch (flags & 0x0f) {  // MAP_TYPE: include/uapi/linux/mman.h
    case MAP_SHARED:
    case MAP_SHARED_VALIDATE: m.sharing = trace::Sharing::Shared; break;
    case MAP_PRIVATE: m.sharing = trace::Sharing::Private; break;
    case MAP_DROPPABLE: m.sharing = trace::Sharing::Droppable; break;
    default:
      t.comments.push_back(describe(c) + ": unknown mapping type");
      return;
  }
  if (!(flags & MAP_ANONYMOUS) && c.file) {
    switch (c.file->kind) {
      case file_ident::kind::dev_zero:
        // drivers/char/mem.c:mmap_zero: a private mapping of /dev/zero is anonymous memory, a
        // shared one is shmem_zero_setup (shared anonymous).
        break;
      case file_ident::kind::other:
        t.comments.push_back(fmt::format("{} is not a regular file or memfd; kept as a named file",
                                         c.file->name));
        [[fallthrough]];
      default:
        m.file = trace::FileRef{c.file->name, off, c.file->ro};
    }
  } else if (!(flags & MAP_ANONYMOUS)) {
    m.file = trace::FileRef{"unknown-file", off, false};
    t.comments.push_back(describe(c) + ": the file behind the descriptor is unknown");
  }
  m.fixed = fixed;
  m.populate = flags & MAP_POPULATE;
  m.noreserve = flags & MAP_NORESERVE;
  m.stack = flags & MAP_STACK;
  if (flags & MAP_HUGETLB) t.comments.push_back("MAP_HUGETLB: the model has 4 KiB pages only");
  if (flags & MAP_GROWSDOWN) t.comments.push_back("MAP_GROWSDOWN: recorded without VM_GROWSDOWN");
  if (prot & (PROT_GROWSDOWN | PROT_GROWSUP)) t.comments.push_back("PROT_GROWS* dropped");
  t.lines.push_back(line_of(m, c.ret));
  if ((flags & MAP_LOCKED) && c.ret >= 0) {
    // mm/mmap.c:do_mmap turns MAP_LOCKED into VM_LOCKED and populates: an mlock of the range.
    t.comments.push_back("MAP_LOCKED: written as mmap then mlock");
    t.lines.push_back(line_of(trace::Mlock{m.addr, len}, 0));
  }
}

void mprotect_call(const mem_call& c, translated& t) {
  const std::uint64_t prot = c.args[2];
  auto p = prot_of(prot & ~static_cast<std::uint64_t>(PROT_GROWSDOWN | PROT_GROWSUP));
  if (!p || !expressible(c.ret)) {
    t.comments.push_back(describe(c) + ": not expressible in sdtrace");
    return;
  }
  if (prot & (PROT_GROWSDOWN | PROT_GROWSUP))
    t.comments.push_back("PROT_GROWS* dropped: the range is taken as given");
  if (c.sys == mem_sys::pkey_mprotect && static_cast<std::int64_t>(c.args[3]) != -1)
    t.comments.push_back(fmt::format("protection key {} dropped", static_cast<std::int64_t>(c.args[3])));
  t.lines.push_back(line_of(trace::Mprotect{c.args[0], c.args[1], *p}, c.ret));
}

void mremap_call(const mem_call& c, translated& t) {
  const std::uint64_t flags = c.args[3];
  if (!expressible(c.ret) || (flags & ~static_cast<std::uint64_t>(MREMAP_MAYMOVE | MREMAP_FIXED |
                                                                   MREMAP_DONTUNMAP))) {
    t.comments.push_back(describe(c) + ": not expressible in sdtrace");
    return;
  }
  trace::Mremap m;
  m.old_addr = c.args[0];
  m.old_len = c.args[1];
  m.new_len = c.args[2];
  m.maymove = flags & MREMAP_MAYMOVE;
  if (flags & MREMAP_FIXED) m.fixed = c.args[4];
  m.dontunmap = flags & MREMAP_DONTUNMAP;
  t.lines.push_back(line_of(m, c.ret));
}

void brk_call(const mem_call& c, translated& t, std::optional<std::uint64_t>& brk) {
  // mm/mmap.c:SYSCALL_DEFINE1(brk) returns the break after the call, the old one on failure.
  const std::uint64_t want = c.args[0], got = static_cast<std::uint64_t>(c.ret);
  if (!brk) {
    // The first call reveals the break only when it did not move it (a query or a failure).
    if (want != 0 && got == want) {
      t.comments.push_back(describe(c) + ": the break before the first brk is unknown");
      brk = got;
      return;
    }
    brk = got;
  }
  t.lines.push_back(line_of(trace::Brk{*brk, want}, c.ret));
  brk = got;
}

}  // namespace

std::string trace_file_name(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '_' || ch == '/' || ch == '+' || ch == '-';
    out += ok ? ch : '_';
  }
  return out.empty() ? "_" : out;
}

std::optional<std::uint8_t> prot_of(std::uint64_t prot) {
  if (prot & ~static_cast<std::uint64_t>(PROT_READ | PROT_WRITE | PROT_EXEC)) return std::nullopt;
  std::uint8_t p = 0;
  if (prot) p |= trace::PROT_R;
  if (prot & PROT_WRITE) p |= trace::PROT_W;
  if (prot & PROT_EXEC) p |= trace::PROT_X;
  return p;
}

std::optional<trace::Advice> advice_of(std::uint64_t advice) {
  using A = trace::Advice;
  switch (advice) {
    case MADV_NORMAL: return A::Normal;
    case MADV_RANDOM: return A::Random;
    case MADV_SEQUENTIAL: return A::Sequential;
    case MADV_WILLNEED: return A::Willneed;
    case MADV_DONTNEED: return A::Dontneed;
    case MADV_FREE: return A::Free;
    case MADV_REMOVE: return A::Remove;
    case MADV_PAGEOUT: return A::Pageout;
    case MADV_COLD: return A::Cold;
    case MADV_DONTFORK: return A::Dontfork;
    case MADV_DOFORK: return A::Dofork;
    case MADV_WIPEONFORK: return A::Wipeonfork;
    case MADV_KEEPONFORK: return A::Keeponfork;
    case MADV_DONTDUMP: return A::Dontdump;
    case MADV_DODUMP: return A::Dodump;
    case MADV_HUGEPAGE: return A::Hugepage;
    case MADV_NOHUGEPAGE: return A::Nohugepage;
    default: return std::nullopt;
  }
}

std::string describe(const mem_call& c) {
  std::string s = c.name + "(";
  for (unsigned i = 0; i < c.nargs && i < c.args.size(); ++i) {
    if (i) s += ", ";
    s += fmt::format("{:#x}", c.args[i]);
  }
  s += ")";
  if (c.ret < 0) {
    std::string_view n = trace::errno_name(static_cast<int>(-c.ret));
    s += n.empty() ? fmt::format(" = -{}", -c.ret) : fmt::format(" = -{}", n);
  } else {
    s += fmt::format(" = {:#x}", c.ret);
  }
  return s;
}

translated translator::operator()(const mem_call& c) {
  translated t;
  switch (c.sys) {
    case mem_sys::mmap: mmap_call(c, t); break;
    case mem_sys::munmap:
      if (expressible(c.ret)) t.lines.push_back(line_of(trace::Munmap{c.args[0], c.args[1]}, c.ret));
      else t.comments.push_back(describe(c) + ": errno not in the sdtrace table");
      break;
    case mem_sys::mprotect:
    case mem_sys::pkey_mprotect: mprotect_call(c, t); break;
    case mem_sys::mremap: mremap_call(c, t); break;
    case mem_sys::madvise: {
      auto a = advice_of(c.args[2]);
      if (!a || !expressible(c.ret)) {
        t.comments.push_back(describe(c) + ": advice not expressible in sdtrace");
        break;
      }
      t.lines.push_back(line_of(trace::Madvise{c.args[0], c.args[1], *a}, c.ret));
      break;
    }
    case mem_sys::brk: brk_call(c, t, brk); break;
    case mem_sys::mlock2:
      if (c.args[2] != 0) t.comments.push_back("mlock2 MLOCK_ONFAULT written as mlock (populates)");
      [[fallthrough]];
    case mem_sys::mlock:
      if (expressible(c.ret)) t.lines.push_back(line_of(trace::Mlock{c.args[0], c.args[1]}, c.ret));
      else t.comments.push_back(describe(c) + ": errno not in the sdtrace table");
      break;
    case mem_sys::munlock:
      if (expressible(c.ret)) t.lines.push_back(line_of(trace::Munlock{c.args[0], c.args[1]}, c.ret));
      else t.comments.push_back(describe(c) + ": errno not in the sdtrace table");
      break;
    case mem_sys::other: t.comments.push_back(describe(c) + ": not expressible in sdtrace"); break;
  }
  return t;
}

}  // namespace sdmc::record
