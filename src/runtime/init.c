/* init.c - the container's init between clone and exec: each phase a function, errors sent home */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* join the namespaces given by path; the user namespace first, as it owns the others */
static int join_namespaces(struct rt_container *c, struct berth_error **err) {
  json_t *nss = json_object_get(json_object_get(c->spec, "linux"), "namespaces"), *ns;
  for (int pass = 0; pass < 2; pass++) {
    size_t i;
    json_array_foreach(nss, i, ns) {
      const char *type = json_string_value(json_object_get(ns, "type"));
      const char *path = json_string_value(json_object_get(ns, "path"));
      int flag = oci_namespace_clone_flag(type);
      if (!path || !*path || flag == CLONE_NEWPID || (flag == CLONE_NEWUSER) != (pass == 0)) continue;
      _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return berr_sys(err, errno, "open %s namespace \"%s\"", type, path);
      if (setns(fd, flag) < 0) return berr_sys(err, errno, "join %s namespace \"%s\"", type, path);
    }
  }
  if (c->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    return berr_sys(err, errno, "become root in the user namespace");
  return 0;
}

/* block until start opens the read side of exec.fifo, run the startContainer hooks, and tell start
 * how they went: "0", or "1MESSAGE" (one write, under PIPE_BUF, so start reads it whole). The fifo
 * lives outside the new root, so it is reached through the O_PATH fd opened before pivot_root */
static int wait_for_start(struct rt_container *c, struct berth_error **err) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fifo_fd);
  _cleanup_close_ int fd = -1;
  do fd = open(path, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return berr_sys(err, errno, "open exec fifo");
  json_t *hooks = json_object_get(c->spec, "hooks");
  struct berth_error *herr = NULL;
  if (rt_hooks_any(hooks, "startContainer")) {
    _cleanup_json_ json_t *st = rt_hook_state(c->id, c->pid, "created", c->bundle, json_object_get(c->spec, "annotations"));
    rt_hooks_run(hooks, "startContainer", st, false, &herr);
  }
  char msg[512];
  int n = snprintf(msg, sizeof(msg), "%s%s", herr ? "1" : "0", herr ? berr_msg(herr) : "");
  berr_free(herr);
  int r = write_all(fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
  if (r < 0) return berr_sys(err, -r, "write exec fifo");
  return msg[0] == '0' ? 0 : berr(err, ECANCELED, "%s", msg + 1);
}

/* between the mounts and pivot_root: the parent runs prestart and createRuntime, we run
 * createContainer (in the container's namespaces, the host's root still visible) */
static int run_create_hooks(struct rt_container *c, struct berth_error **err) {
  json_t *hooks = json_object_get(c->spec, "hooks");
  int r = 0;
  if (rt_hooks_any(hooks, "prestart") || rt_hooks_any(hooks, "createRuntime")) {
    r = rt_sync_send(c->sync_fd, SYNC_HOOKS, 0, NULL);
    if (r < 0) return berr_sys(err, -r, "sync with the runtime");
    r = rt_sync_wait(c->sync_fd, SYNC_HOOKS_DONE, err);
  }
  if (r == 0 && rt_hooks_any(hooks, "createContainer")) {
    _cleanup_json_ json_t *st = rt_hook_state(c->id, c->pid, "creating", c->bundle, json_object_get(c->spec, "annotations"));
    r = rt_hooks_run(hooks, "createContainer", st, false, err);
  }
  return r;
}

static int setup_all(struct rt_container *c, char **path, char ***envp, struct berth_error **err) {
  const char *cg = json_string_value(json_object_get(json_object_get(c->spec, "linux"), "cgroupsPath"));
  int pid = 0;
  int r = rt_sync_recv(c->sync_fd, SYNC_GO, &pid, err);
  c->pid = pid;
  /* before any setresuid: the host's cgroup files check our (still host root) euid */
  if (r == 0 && cg && *cg) r = rt_cgroup_join_self(cg, err);
  if (r == 0 && (c->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    r = berr_sys(err, errno, "unshare the cgroup namespace");
  if (r == 0) r = join_namespaces(c, err);
  if (r == 0) r = rt_setup_process_early(c, err);
  if (r == 0) r = rt_rootfs_prepare(c, err);
  if (r == 0) r = run_create_hooks(c, err);
  if (r == 0) r = rt_rootfs_finish(c, err);
  if (r == 0) r = rt_setup_console(c, err);
  if (r == 0) r = rt_prepare_exec(c, path, envp, err);
  if (r == 0) r = rt_lsm_apply(json_object_get(c->spec, "process"), err);
  if (r < 0) return r;
  bool nnp = json_is_true(json_object_get(json_object_get(c->spec, "process"), "noNewPrivileges"));
  /* without no_new_privs loading a filter needs CAP_SYS_ADMIN: load it before the caps go */
  if (c->seccomp && !nnp && (r = rt_seccomp_load(c->seccomp, err)) < 0) return r;
  r = rt_setup_identity(c, err);
  if (r == 0 && nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) r = berr_sys(err, errno, "set no_new_privs");
  if (r == 0 && c->seccomp && nnp) r = rt_seccomp_load(c->seccomp, err);
  return r;
}

/* the caller's blocked and ignored signals (a shim ignores SIGPIPE, run blocks what it forwards)
 * must not reach the container's process: exec keeps both */
static void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

__attribute__((noreturn)) void rt_init_main(struct rt_container *c) {
  struct berth_error *err = NULL;
  char *path = NULL, **envp = NULL;
  /* if create dies before the init is ready, the init must not live on half made */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  reset_signals();
  umask(0);
  int r = setup_all(c, &path, &envp, &err);
  if (r < 0) {
    rt_sync_send(c->sync_fd, SYNC_ERROR, err ? err->code : -r, berr_msg(err));
    _exit(1);
  }
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  rt_sync_send(c->sync_fd, SYNC_READY, 0, NULL);
  close(c->sync_fd);
  r = wait_for_start(c, &err);
  if (r < 0) { /* a failed startContainer hook is start's error (ECANCELED): it says so */
    if (r != -ECANCELED) dprintf(2, "berth-runtime: %s\n", berr_msg(err));
    _exit(127);
  }
  /* the container gets only fds 0-2 (and its console) */
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  char **argv = NULL;
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(json_object_get(c->spec, "process"), "args"), i, a)
      argv = strv_push(argv, json_string_value(a));
  execve(path, argv, envp);
  dprintf(2, "berth-runtime: exec \"%s\": %s\n", path, strerror(errno));
  _exit(127);
}
