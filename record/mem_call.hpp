// A memory system call as a program made it, and its sdtrace form. Shared by `sdmc record`
// (arguments from ptrace) and `sdmc import-strace` (arguments decoded from strace's text), so
// that both write the same operation for the same call.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traces/sdtrace.hpp"

namespace sdmc::record {

enum class mem_sys : std::uint8_t {
  mmap, munmap, mprotect, pkey_mprotect, mremap, madvise, brk, mlock, mlock2, munlock,
  other,  // a memory call sdtrace cannot express (mlockall, shmat, mseal, ...): a comment
};

// What the file descriptor of an mmap refers to.
struct file_ident {
  enum class kind : std::uint8_t {
    regular,   // a page-cache file: written as the memory file of the same name (trace header)
    memfd,     // a memfd (shmem): `file=memfd/NAME.INODE`
    dev_zero,  // /dev/zero: the kernel makes the mapping anonymous (drivers/char/mem.c:mmap_zero)
    other,     // a device or anything else: kept as a named file, with a comment
  };
  enum kind kind = kind::regular;
  std::string name;  // trace-format file name ([A-Za-z0-9._/+-]+)
  bool ro = false;   // opened read-only (O_ACCMODE == O_RDONLY)
};

struct mem_call {
  mem_sys sys = mem_sys::other;
  std::string name;                     // the system call's name, for comments
  std::array<std::uint64_t, 6> args{};  // as passed
  std::int64_t ret = 0;                 // the raw result: >= 0 a value, < 0 a -errno
  std::optional<file_ident> file;       // mmap of a file descriptor
  unsigned nargs = 6;                   // arguments shown by describe()
};

// A call in sdtrace: the operation lines (mmap with MAP_LOCKED is two) and comments that say
// what could not be expressed. Both may be empty (a no-op brk query after the first).
struct translated {
  std::vector<std::string> comments;  // without the leading "# "
  std::vector<trace::Line> lines;
};

// Turns calls into operations, keeping the one piece of state a call does not carry: the
// current program break (sdtrace's `brk OLD NEW` names the old break).
class translator {
 public:
  translated operator()(const mem_call& c);
  std::optional<std::uint64_t> brk;  // the current break, once a brk call revealed it
};

// A file name the trace format accepts: characters outside [A-Za-z0-9._/+-] become '_'.
std::string trace_file_name(std::string_view s);
// sdtrace PROT for a PROT_* mask, or nullopt when bits beyond READ|WRITE|EXEC are set. On x86-64
// write and exec imply read (arch/x86/include/asm/pgtable_types.h has no write- or exec-only
// page protection), so -w- is rw- and --x is r-x.
std::optional<std::uint8_t> prot_of(std::uint64_t prot);
// The sdtrace advice for an MADV_* value, or nullopt.
std::optional<trace::Advice> advice_of(std::uint64_t advice);
// "mmap(0x7f0000000000, 0x1000, 0x3, 0x22, -1, 0) = 0x7f0000000000": a call for comments.
std::string describe(const mem_call& c);

}  // namespace sdmc::record
