/* hooks.c - OCI hooks: each one a process with the container's state on stdin, run in order */
#define LOG_TAG "runtime"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/log.h"
#include "common/strv.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

bool rt_hooks_any(json_t *hooks, const char *kind) { return json_array_size(json_object_get(hooks, kind)) > 0; }

json_t *rt_hook_state(const char *id, pid_t pid, const char *status, const char *bundle, json_t *annotations) {
  json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", OCI_VERSION, "id", id, "status", status,
                        "pid", (int)pid, "bundle", bundle);
  json_object_set_new(j, "annotations", annotations ? json_incref(annotations) : json_object());
  return j;
}

/* the child: state on stdin (a socket, so a hook that never reads cannot raise SIGPIPE in us) */
__attribute__((noreturn)) static void exec_hook(json_t *hook, int in) {
  char **argv = NULL, **envp = NULL;
  size_t i;
  json_t *v;
  const char *path = json_string_value(json_object_get(hook, "path"));
  json_array_foreach(json_object_get(hook, "args"), i, v) argv = strv_push(argv, json_string_value(v));
  if (!argv) argv = strv_push(argv, path);
  json_t *env = json_object_get(hook, "env");
  json_array_foreach(env, i, v) envp = strv_push(envp, json_string_value(v));
  if (dup2(in, 0) < 0) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* runc's hooks inherit the runtime's environment when the hook names none */
  if (env) execve(path, argv, envp ? envp : (char *[]){NULL});
  else execv(path, argv);
  dprintf(2, "berth-runtime: exec hook \"%s\": %s\n", path, strerror(errno));
  _exit(127);
}

/* wait for the hook, killing it once its timeout (seconds, 0 = none) is over */
static int wait_hook(pid_t pid, int timeout, int *status) {
  _cleanup_close_ int pidfd = sys_pidfd_open(pid, 0);
  if (pidfd >= 0 && timeout > 0) {
    struct pollfd pf = {.fd = pidfd, .events = POLLIN};
    int n;
    do n = poll(&pf, 1, timeout * 1000);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
      return -ETIMEDOUT;
    }
  }
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR) return -errno;
  return 0;
}

static int run_one(json_t *hook, const char *kind, size_t idx, const char *state, struct berth_error **err) {
  const char *path = json_string_value(json_object_get(hook, "path"));
  if (!path || path[0] != '/') return berr(err, EINVAL, "hooks.%s[%zu].path must be an absolute path", kind, idx);
  json_t *to = json_object_get(hook, "timeout");
  if (to && (!json_is_integer(to) || json_integer_value(to) <= 0))
    return berr(err, EINVAL, "hooks.%s[%zu].timeout must be a positive integer", kind, idx);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return berr_sys(err, errno, "socketpair");
  _cleanup_close_ int ours = sv[0];
  _cleanup_close_ int theirs = sv[1];
  pid_t pid = fork();
  if (pid < 0) return berr_sys(err, errno, "fork hook \"%s\"", path);
  if (pid == 0) exec_hook(hook, theirs);
  close(take_fd(&theirs));
  /* the state is small: a non-blocking send fits the socket buffer; a hook need not read it */
  send(ours, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT);
  shutdown(ours, SHUT_WR);
  int status = 0;
  int r = wait_hook(pid, to ? (int)json_integer_value(to) : 0, &status);
  if (r == -ETIMEDOUT)
    return berr(err, ETIMEDOUT, "%s hook \"%s\" timed out after %d s", kind, path, (int)json_integer_value(to));
  if (r < 0) return berr_sys(err, -r, "wait for %s hook \"%s\"", kind, path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFSIGNALED(status)) return berr(err, ECANCELED, "%s hook \"%s\" killed by signal %d", kind, path, WTERMSIG(status));
  return berr(err, ECANCELED, "%s hook \"%s\" exited with status %d", kind, path, WEXITSTATUS(status));
}

int rt_hooks_run(json_t *hooks, const char *kind, json_t *state, bool warn, struct berth_error **err) {
  json_t *list = json_object_get(hooks, kind), *h;
  if (!json_array_size(list)) return 0;
  _cleanup_free_ char *text = json_dumps(state, JSON_COMPACT);
  size_t i;
  json_array_foreach(list, i, h) {
    struct berth_error *herr = NULL;
    int r = run_one(h, kind, i, text, &herr);
    if (r == 0) continue;
    if (!warn) {
      if (err && !*err) *err = herr;
      else berr_free(herr);
      return r;
    }
    /* the spec: a failed poststart or poststop hook is a warning, the others still run */
    log_warn("%s", berr_msg(herr));
    berr_free(herr);
  }
  return 0;
}
