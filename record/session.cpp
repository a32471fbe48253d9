#include "record/session.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "record/ptrace_ops.hpp"
#include "record/recorder.hpp"
#include "record/seccomp_filter.hpp"
#include "record/uapi.hpp"

namespace sdmc::record {

namespace {

constexpr long kPtraceOptions = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
                                PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
                                PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;

std::string kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string status_text(int st) {
  if (WIFEXITED(st)) return fmt::format("exit status {}", WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return fmt::format("killed by signal {} ({})", WTERMSIG(st), strsignal(WTERMSIG(st)));
  return "gone";
}

// [[noreturn]] child side of the fork: wait for the tracer, install the filter, exec.
[[noreturn]] void child(const session_options& o, int go_fd, int err_fd, int go_w, int err_r) {
  // The other ends are the tracer's: with the write end of `go` open here, a tracer that gives
  // up (ptrace refused) would leave this read waiting for ever.
  close(go_w);
  close(err_r);
  char c;
  if (read(go_fd, &c, 1) != 1) _exit(127);  // the tracer could not attach
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int e = install_trace_filter();
  if (e) {
    char msg[2] = {'S', static_cast<char>(e)};
    (void)!write(err_fd, msg, 2);
    _exit(127);
  }
  std::vector<char*> args;
  for (const std::string& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  char msg[2] = {'E', static_cast<char>(errno)};
  (void)!write(err_fd, msg, 2);
  _exit(127);
}

class session {
 public:
  explicit session(const session_options& o)
      : o_(o), rec_(join(o.argv), kernel_release(), o.interval_ms, o.epoch_per_call) {}
  session_result run();

 private:
  struct task {
    pid_t tgid = 0;
    bool recorded = false;     // shares the recorded mm
    bool fresh = false;        // auto-attached, its first (attach) stop not seen yet
    bool await_exec_exit = false;
    std::optional<mem_call> pending;  // a memory call between its seccomp and exit stops
  };
  enum class phase { before_exec, recording, after };

  void handle(pid_t tid, int status);
  void on_seccomp(pid_t tid, task& t);
  void start_call(pid_t tid, task& t);
  void end_call(pid_t tid);  // the call in flight ended: start the next held one
  void on_syscall_exit(pid_t tid, task& t);
  void on_exec(pid_t tid);
  void on_clone(pid_t tid, task& t);
  bool start_recording(pid_t tid);
  void fail(const std::string& why);
  // Whether `tid` uses the recorded address space (a thread, or a vfork/CLONE_VM child): asked
  // of the kernel (kernel/kcmp.c, KCMP_VM), since a new task's first stop may come before its
  // parent's clone event.
  bool shares_recorded_mm(pid_t tid) const;
  void resume(pid_t tid, int sig = 0) { ptrace(PTRACE_CONT, tid, 0, sig); }

  const session_options& o_;
  recorder rec_;
  std::map<pid_t, task> tasks_;
  phase phase_ = phase::before_exec;
  pid_t main_ = 0, recorded_tgid_ = 0;
  pid_t in_call_ = 0;         // the thread whose recorded memory call is in flight
  std::deque<pid_t> held_;    // threads stopped before a memory call, waiting for in_call_
  int main_status_ = 0, err_fd_ = -1, timer_fd_ = -1;
  bool main_done_ = false;
  std::string error_;
};

void session::fail(const std::string& why) {
  if (error_.empty()) error_ = why;
  // PTRACE_O_EXITKILL would do it when we exit; kill now so that the loop drains.
  for (auto& [tid, t] : tasks_) kill(tid, SIGKILL);
}

bool session::shares_recorded_mm(pid_t tid) const {
  if (phase_ != phase::recording) return false;
  for (auto& [other, t] : tasks_)
    if (t.recorded && other != tid && !t.fresh) return syscall(SYS_kcmp, other, tid, KCMP_VM, 0, 0) == 0;
  return false;
}

bool session::start_recording(pid_t tid) {
  auto insn = find_vdso_syscall(tid);
  if (!insn) {
    fail("no `syscall` instruction in the program's [vdso]; cannot create its userfaultfd");
    return false;
  }
  // userfaultfd(2) must run inside the program: the context binds to current->mm.
  // UFFD_USER_MODE_ONLY keeps it allowed with vm.unprivileged_userfaultfd = 0 (it only limits
  // synchronous fault handling, which async write-protect does not use).
  auto fd = inject_syscall(tid, *insn, SYS_userfaultfd, {O_CLOEXEC | UFFD_USER_MODE_ONLY});
  if (!fd) {
    fail("the program died while its userfaultfd was being created");
    return false;
  }
  if (*fd < 0) {
    fail(fmt::format("userfaultfd is not permitted here: {} (CONFIG_USERFAULTFD, "
                     "vm.unprivileged_userfaultfd)",
                     std::strerror(static_cast<int>(-*fd))));
    return false;
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, tid, 0));
  int ours = pidfd < 0 ? -1 : static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, *fd, 0));
  const int getfd_errno = errno;
  if (pidfd >= 0) close(pidfd);
  // Close the program's copy again, so its descriptor numbers stay as they would be.
  inject_syscall(tid, *insn, SYS_close, {static_cast<std::uint64_t>(*fd)});
  if (ours < 0) {
    fail(fmt::format("pidfd_getfd of the program's userfaultfd failed: {}", std::strerror(getfd_errno)));
    return false;
  }
  std::string err;
  if (!rec_.start(tid, ours, err)) {
    fail(err);
    return false;
  }
  phase_ = phase::recording;
  if (o_.interval_ms > 0) {
    itimerspec its{};
    its.it_interval.tv_sec = o_.interval_ms / 1000;
    its.it_interval.tv_nsec = static_cast<long>(o_.interval_ms % 1000) * 1000000;
    its.it_value = its.it_interval;
    timerfd_settime(timer_fd_, 0, &its, nullptr);
  }
  return true;
}

void session::on_seccomp(pid_t tid, task& t) {
  auto info = get_syscall_stop(tid);
  if (!info || phase_ != phase::recording || !t.recorded) return resume(tid);
  if (info->arch != AUDIT_ARCH_X86_64 || info->nr >= 0x40000000) {
    fail("the program made a 32-bit (i386 or x32) system call; only x86-64 programs can be recorded");
    return resume(tid);
  }
  if (info->nr == SYS_execve || info->nr == SYS_execveat) {
    // The last chance to see this image's stores; if the exec fails, recording goes on.
    rec_.harvest();
    return resume(tid);
  }
  auto sys = memory_syscall(info->nr);
  if (!sys) return resume(tid);
  mem_call c;
  c.sys = *sys;
  c.name = syscall_name(info->nr);
  c.args = info->args;
  c.nargs = nargs_of(*sys);
  if (*sys == mem_sys::mmap && !(c.args[3] & MAP_ANONYMOUS))
    c.file = identify_fd(tid, static_cast<int>(c.args[4]));
  t.pending = c;
  // One recorded memory call at a time: the trace's order must be the order of their effects,
  // and exit stops of calls running side by side arrive in any order. The kernel serialises
  // most of them on mmap_lock anyway.
  if (in_call_) {
    held_.push_back(tid);
    return;
  }
  start_call(tid, t);
}

void session::start_call(pid_t tid, task& t) {
  in_call_ = tid;
  rec_.before_call(tid, *t.pending);
  ptrace(PTRACE_SYSCALL, tid, 0, 0);  // to its exit stop, for the result
}

void session::end_call(pid_t tid) {
  if (in_call_ != tid) return;
  in_call_ = 0;
  while (!in_call_ && !held_.empty()) {
    pid_t next = held_.front();
    held_.pop_front();
    auto it = tasks_.find(next);
    if (it != tasks_.end() && it->second.pending) start_call(next, it->second);
  }
}

void session::on_syscall_exit(pid_t tid, task& t) {
  auto info = get_syscall_stop(tid);
  if (t.await_exec_exit) {
    t.await_exec_exit = false;
    if (!start_recording(tid)) return;
    return resume(tid);
  }
  if (t.pending && info && info->kind == syscall_stop::kind::exit) {
    mem_call c = *t.pending;
    t.pending.reset();
    c.ret = info->rval;
    if (phase_ == phase::recording && t.recorded) rec_.after_call(tid, c);
    resume(tid);
    return end_call(tid);
  }
  resume(tid);
}

void session::on_exec(pid_t tid) {
  unsigned long former = 0;
  ptrace(PTRACE_GETEVENTMSG, tid, 0, &former);
  if (static_cast<pid_t>(former) != tid) {
    // A non-leader thread exec'd and took the leader's pid (fs/exec.c:de_thread).
    auto it = tasks_.find(static_cast<pid_t>(former));
    if (it != tasks_.end()) {
      tasks_[tid] = it->second;
      tasks_.erase(it);
    }
  }
  task& t = tasks_[tid];
  t.tgid = tid;
  t.pending.reset();
  if (phase_ == phase::before_exec && tid == main_) {
    close(err_fd_);  // exec succeeded: nothing will come through the error pipe
    err_fd_ = -1;
    t.recorded = true;
    recorded_tgid_ = tid;
    t.await_exec_exit = true;
    ptrace(PTRACE_SYSCALL, tid, 0, 0);  // to the exit stop of execve, in the new image
    return;
  }
  if (phase_ == phase::recording && t.recorded && t.tgid == recorded_tgid_) {
    rec_.finish("execve (the new program is not recorded)");
    phase_ = phase::after;
  }
  t.recorded = false;  // a vfork child that shared the mm has its own now
  resume(tid);
}

void session::on_clone(pid_t tid, task& t) {
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg);
  const pid_t child = static_cast<pid_t>(msg);
  auto [it, inserted] = tasks_.try_emplace(child);
  if (inserted) it->second.fresh = true;
  const bool shares_mm = syscall(SYS_kcmp, tid, child, KCMP_VM, 0, 0) == 0;
  std::ifstream status("/proc/" + std::to_string(child) + "/status");
  std::string key;
  while (status >> key)
    if (key == "Tgid:") {
      status >> it->second.tgid;
      break;
    }
  if (t.recorded && shares_mm) it->second.recorded = true;
  else if (t.recorded && phase_ == phase::recording) rec_.on_fork();
  resume(tid);
}

void session::handle(pid_t tid, int st) {
  if (WIFEXITED(st) || WIFSIGNALED(st)) {
    auto it = tasks_.find(tid);
    if (it != tasks_.end()) tasks_.erase(it);
    rec_.abandon(tid);
    std::erase(held_, tid);
    end_call(tid);
    if (tid == main_) {
      main_status_ = st;
      main_done_ = true;
    }
    if (phase_ == phase::recording && tid == recorded_tgid_) {
      rec_.finish(status_text(st));
      phase_ = phase::after;
    }
    return;
  }
  if (!WIFSTOPPED(st)) return;
  auto [it, inserted] = tasks_.try_emplace(tid);
  task& t = it->second;
  if (inserted) {
    t.fresh = true;  // its first stop came before its parent's clone event
    t.recorded = shares_recorded_mm(tid);
  }
  const int sig = WSTOPSIG(st), event = st >> 16;
  if (t.fresh) {
    // The attach stop of an auto-attached task (PTRACE_EVENT_STOP): let it start.
    t.fresh = false;
    if (event == PTRACE_EVENT_STOP) return resume(tid);
  }
  if (sig == (SIGTRAP | 0x80)) return on_syscall_exit(tid, t);
  switch (event) {
    case PTRACE_EVENT_SECCOMP: return on_seccomp(tid, t);
    case PTRACE_EVENT_EXEC: return on_exec(tid);
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: return on_clone(tid, t);
    case PTRACE_EVENT_EXIT:
      // The address space is still there (kernel/exit.c:do_exit stops before exit_mm).
      if (phase_ == phase::recording && t.recorded) rec_.harvest();
      // Killed while held before a call, or inside one: the call never completes.
      std::erase(held_, tid);
      if (t.pending) {
        t.pending.reset();
        rec_.abandon(tid);
      }
      resume(tid);
      return end_call(tid);
    case PTRACE_EVENT_STOP:
      // A group-stop (SIGSTOP and friends): keep it stopped the way it would be untraced.
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
        ptrace(PTRACE_LISTEN, tid, 0, 0);
        return;
      }
      return resume(tid);
    case 0: return resume(tid, sig);  // a signal for the program: deliver it unchanged
    default: return resume(tid);
  }
}

session_result session::run() {
  session_result res;
  int go[2], err[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    res.exit_code = 2;
    res.error = std::string("pipe: ") + std::strerror(errno);
    return res;
  }
  // SIGCHLD is blocked before the fork, so none is lost before the signalfd exists.
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  main_ = fork();
  if (main_ < 0) {
    res.exit_code = 2;
    res.error = std::string("fork: ") + std::strerror(errno);
    return res;
  }
  if (main_ == 0) child(o_, go[0], err[1], go[1], err[0]);
  // Like a shell's foreground job: a terminal's ^C or ^\ is the program's to handle; the
  // recorder stays to write the trace. (The child keeps the dispositions it had at the fork.)
  struct sigaction ignore {}, old_int {}, old_quit {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  close(go[0]);
  close(err[1]);
  err_fd_ = err[0];
  if (ptrace(PTRACE_SEIZE, main_, 0, kPtraceOptions) != 0) {
    const int e = errno;
    close(go[1]);
    waitpid(main_, nullptr, 0);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    res.exit_code = 2;
    res.error = fmt::format("ptrace is not permitted here: {} (sdmc record traces the program "
                            "with PTRACE_SEIZE; check kernel.yama.ptrace_scope and seccomp "
                            "policies of the container)", std::strerror(e));
    return res;
  }
  tasks_[main_].tgid = main_;
  (void)!write(go[1], "g", 1);
  close(go[1]);

  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  while (!tasks_.empty()) {
    int st;
    pid_t tid;
    bool any = false;
    while ((tid = waitpid(-1, &st, __WALL | WNOHANG)) > 0) {
      handle(tid, st);
      any = true;
    }
    if (tid < 0 && errno == ECHILD) break;
    if (any) continue;
    pollfd fds[2] = {{sfd, POLLIN, 0}, {timer_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    }
    std::uint64_t ticks;
    if (read(timer_fd_, &ticks, sizeof ticks) == static_cast<ssize_t>(sizeof ticks) &&
        phase_ == phase::recording)
      rec_.harvest();
  }
  close(sfd);
  close(timer_fd_);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);

  if (!error_.empty()) {
    res.exit_code = 2;
    res.error = error_;
    return res;
  }
  if (phase_ == phase::before_exec) {
    char msg[2] = {0, 0};
    const bool told = err_fd_ >= 0 && read(err_fd_, msg, 2) == 2;
    res.exit_code = 2;
    if (told && msg[0] == 'S')
      res.error = fmt::format("cannot install the seccomp filter: {}", std::strerror(msg[1]));
    else if (told)
      res.error = fmt::format("cannot run '{}': {}", o_.argv[0], std::strerror(msg[1]));
    else
      res.error = fmt::format("'{}' ended before its execve ({})", o_.argv[0], status_text(main_status_));
    return res;
  }
  if (err_fd_ >= 0) close(err_fd_);
  rec_.finish(status_text(main_status_));
  res.trace = rec_.text();
  const recorder_stats& s = rec_.stats();
  if (s.raced_writes || s.outside_pages || s.track_failures)
    res.warning = fmt::format("{} raced store pages, {} pages outside recorded mappings, {} ranges "
                              "not write-tracked (see the comments in the trace)",
                              s.raced_writes, s.outside_pages, s.track_failures);
  if (WIFSIGNALED(main_status_)) {
    res.signal = WTERMSIG(main_status_);
    res.exit_code = 128 + res.signal;
  } else {
    res.exit_code = WEXITSTATUS(main_status_);
  }
  return res;
}

}  // namespace

session_result run_session(const session_options& o) {
  session s(o);
  return s.run();
}

}  // namespace sdmc::record
