// What a hook's process gets between fork and exec (Boost.Process
// on_exec_setup, in the child, so only async-signal-safe calls):
//   - its own process group, so that a timeout or the daemon's stop kills the
//     hook and everything it started (kill(-pgid));
//   - default signal dispositions: the daemon ignores SIGPIPE, and an ignored
//     disposition would survive exec;
//   - no descriptor of the daemon but stdin, stdout and stderr: a descriptor
//     without FD_CLOEXEC (another hook's pipe) is closed; the others close at
//     exec, and Boost.Process's exec-error pipe among them still reports a
//     failed exec (ENOENT, EACCES) to the parent.
// It replaces bp::limit_handles, which in Boost 1.74 also closes the stdout
// and stderr pipes (boostorg/process issue 282).
#ifndef VIGIL_AGENT_HOOKS_CHILD_SETUP_H_
#define VIGIL_AGENT_HOOKS_CHILD_SETUP_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/process/extend.hpp>

namespace vigil::agent {

struct ChildSetup : boost::process::extend::handler {
  /// Reads the descriptor limit in the parent (getrlimit is not
  /// async-signal-safe), capped so that the close loop stays short.
  ChildSetup() {
    rlimit r{};
    max_fd = (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
                 ? static_cast<int>(r.rlim_cur < 65536 ? r.rlim_cur : 65536)
                 : 65536;
  }

  /// Must come after the std_in/std_out/std_err redirections among the
  /// child's initializers, so that 0, 1 and 2 are already in place.
  template <typename Executor>
  void on_exec_setup(Executor&) const {
    ::setpgid(0, 0);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int fd = 3; fd < max_fd; ++fd) {
      const int flags = ::fcntl(fd, F_GETFD);
      if (flags != -1 && (flags & FD_CLOEXEC) == 0) ::close(fd);
    }
  }

  int max_fd = 65536;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_HOOKS_CHILD_SETUP_H_
