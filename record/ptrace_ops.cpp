#include "record/ptrace_ops.hpp"

#include <linux/audit.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#if !defined(__x86_64__)
#error "sdmc record supports x86-64 only (registers and system call numbers)"
#endif

namespace sdmc::record {

std::optional<syscall_stop> get_syscall_stop(pid_t tid) {
  __ptrace_syscall_info info{};
  if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof info, &info) <= 0)
    return std::nullopt;
  syscall_stop s;
  s.arch = info.arch;
  switch (info.op) {
    case PTRACE_SYSCALL_INFO_ENTRY:
      s.kind = syscall_stop::kind::entry;
      s.nr = info.entry.nr;
      for (int i = 0; i < 6; ++i) s.args[i] = info.entry.args[i];
      break;
    case PTRACE_SYSCALL_INFO_SECCOMP:
      s.kind = syscall_stop::kind::seccomp;
      s.nr = info.seccomp.nr;
      for (int i = 0; i < 6; ++i) s.args[i] = info.seccomp.args[i];
      break;
    case PTRACE_SYSCALL_INFO_EXIT:
      s.kind = syscall_stop::kind::exit;
      s.rval = info.exit.rval;
      break;
    default: break;
  }
  return s;
}

namespace {
// Resumes with PTRACE_SYSCALL and waits for the next system-call stop of `tid`, holding back
// signals (their numbers go to `held`). False when the tracee is gone.
bool next_syscall_stop(pid_t tid, std::vector<int>& held) {
  int sig = 0;
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, tid, 0, sig) != 0) return false;
    sig = 0;
    int status;
    if (waitpid(tid, &status, __WALL) != tid) return false;
    if (!WIFSTOPPED(status)) return false;
    if (WSTOPSIG(status) == (SIGTRAP | 0x80)) return true;
    if ((status >> 16) == 0) held.push_back(WSTOPSIG(status));  // a signal: deliver it later
  }
}
}  // namespace

std::optional<std::int64_t> inject_syscall(pid_t tid, std::uint64_t insn, long nr,
                                           std::array<std::uint64_t, 6> args) {
  user_regs_struct saved{}, regs{};
  if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0) return std::nullopt;
  regs = saved;
  regs.rip = insn;
  regs.rax = static_cast<unsigned long long>(nr);
  regs.orig_rax = static_cast<unsigned long long>(-1);
  regs.rdi = args[0];
  regs.rsi = args[1];
  regs.rdx = args[2];
  regs.r10 = args[3];
  regs.r8 = args[4];
  regs.r9 = args[5];
  if (ptrace(PTRACE_SETREGS, tid, 0, &regs) != 0) return std::nullopt;
  std::vector<int> held;
  // entry stop, then exit stop of the injected call
  if (!next_syscall_stop(tid, held) || !next_syscall_stop(tid, held)) return std::nullopt;
  if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0) return std::nullopt;
  if (ptrace(PTRACE_SETREGS, tid, 0, &saved) != 0) return std::nullopt;
  for (int s : held) syscall(SYS_tkill, tid, s);
  return static_cast<std::int64_t>(regs.rax);
}

std::optional<std::uint64_t> find_vdso_syscall(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("[vdso]") == std::string::npos) continue;
    std::uint64_t start = std::stoull(line, nullptr, 16);
    std::uint64_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    std::vector<unsigned char> buf(end - start);
    iovec local{buf.data(), buf.size()}, remote{reinterpret_cast<void*>(start), buf.size()};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(buf.size()))
      return std::nullopt;
    for (std::size_t i = 0; i + 1 < buf.size(); ++i)
      if (buf[i] == 0x0f && buf[i + 1] == 0x05) return start + i;
  }
  return std::nullopt;
}

std::optional<file_ident> identify_fd(pid_t tid, int fd) {
  const std::string base = "/proc/" + std::to_string(tid);
  const std::string link = base + "/fd/" + std::to_string(fd);
  char target[4096];
  ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n < 0) return std::nullopt;
  std::string path(target, n);
  struct stat st {};
  if (stat(link.c_str(), &st) != 0) return std::nullopt;
  file_ident f;
  std::ifstream info(base + "/fdinfo/" + std::to_string(fd));
  std::string key;
  while (info >> key) {
    if (key != "flags:") continue;
    std::string flags;
    info >> flags;
    f.ro = (std::stoul(flags, nullptr, 8) & 3) == 0;  // O_ACCMODE == O_RDONLY
    break;
  }
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  if (path.rfind("/memfd:", 0) == 0) {
    // mm/memfd.c names the shmem file "memfd:NAME"; names repeat, inodes do not.
    f.kind = file_ident::kind::memfd;
    f.name = "memfd/" + trace_file_name(path.substr(7)) + "." + std::to_string(st.st_ino);
  } else if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5) {
    f.kind = file_ident::kind::dev_zero;
    f.name = "/dev/zero";
  } else {
    f.kind = S_ISREG(st.st_mode) ? file_ident::kind::regular : file_ident::kind::other;
    f.name = trace_file_name(path);
  }
  return f;
}

namespace {
// x86-64 numbers; the newest are absent from Debian 12's headers.
constexpr long kNrProcessMadvise = 440, kNrMseal = 462, kNrMapShadowStack = 453;
}  // namespace

std::optional<mem_sys> memory_syscall(std::uint64_t nr) {
  switch (nr) {
    case SYS_mmap: return mem_sys::mmap;
    case SYS_munmap: return mem_sys::munmap;
    case SYS_mprotect: return mem_sys::mprotect;
    case SYS_pkey_mprotect: return mem_sys::pkey_mprotect;
    case SYS_mremap: return mem_sys::mremap;
    case SYS_madvise: return mem_sys::madvise;
    case SYS_brk: return mem_sys::brk;
    case SYS_mlock: return mem_sys::mlock;
    case SYS_mlock2: return mem_sys::mlock2;
    case SYS_munlock: return mem_sys::munlock;
    // Memory calls sdtrace cannot express; they become comments so a reader sees them.
    case SYS_mlockall:
    case SYS_munlockall:
    case SYS_shmat:
    case SYS_shmdt:
    case SYS_remap_file_pages:
    case SYS_mbind:
    case SYS_userfaultfd:
    case kNrProcessMadvise:
    case kNrMseal:
    case kNrMapShadowStack: return mem_sys::other;
    default: return std::nullopt;
  }
}

std::string syscall_name(std::uint64_t nr) {
  switch (nr) {
    case SYS_mmap: return "mmap";
    case SYS_munmap: return "munmap";
    case SYS_mprotect: return "mprotect";
    case SYS_pkey_mprotect: return "pkey_mprotect";
    case SYS_mremap: return "mremap";
    case SYS_madvise: return "madvise";
    case SYS_brk: return "brk";
    case SYS_mlock: return "mlock";
    case SYS_mlock2: return "mlock2";
    case SYS_munlock: return "munlock";
    case SYS_mlockall: return "mlockall";
    case SYS_munlockall: return "munlockall";
    case SYS_shmat: return "shmat";
    case SYS_shmdt: return "shmdt";
    case SYS_remap_file_pages: return "remap_file_pages";
    case SYS_mbind: return "mbind";
    case SYS_userfaultfd: return "userfaultfd";
    case SYS_execve: return "execve";
    case SYS_execveat: return "execveat";
    case kNrProcessMadvise: return "process_madvise";
    case kNrMseal: return "mseal";
    case kNrMapShadowStack: return "map_shadow_stack";
    default: return "syscall" + std::to_string(nr);
  }
}

std::vector<long> trapped_syscalls() {
  std::vector<long> out;
  for (long nr = 0; nr < 512; ++nr)
    if (memory_syscall(nr)) out.push_back(nr);
  out.push_back(SYS_execve);
  out.push_back(SYS_execveat);
  return out;
}

}  // namespace sdmc::record
