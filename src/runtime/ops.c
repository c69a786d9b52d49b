/* ops.c - start, kill and delete of a created container, from its state directory */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

/* a pidfd for the init, or -1 when it is gone or the pid was reused */
static int open_init(const struct rt_state *st) {
  int fd = sys_pidfd_open(st->pid, 0);
  if (fd < 0) return -1;
  if (rt_proc_start_time(st->pid) != st->start_time) {
    close(fd);
    return -1;
  }
  return fd;
}

/* open the fifo and read the init's word: "0", or "1MESSAGE" when a startContainer hook failed */
static int release_init(const char *id, const char *fifo, int pidfd, struct berth_error **err) {
  /* non-blocking: the open succeeds at once and lets the init's blocking open for writing return */
  _cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", fifo);
  struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
  char msg[512];
  ssize_t n = 0;
  for (;;) {
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return berr_sys(err, errno, "poll");
    }
    if (pf[0].revents & POLLIN && (n = read(fd, msg, sizeof(msg) - 1)) > 0) break;
    if (pf[1].revents) return berr(err, ESRCH, "container \"%s\" init exited before it was started", id);
    pf[0].revents = 0;
  }
  msg[n] = '\0';
  if (unlink(fifo) < 0) return berr_sys(err, errno, "remove \"%s\"", fifo);
  if (msg[0] != '0') return berr(err, ECANCELED, "container \"%s\": %s", id, msg + 1);
  return 0;
}

int rt_start(const struct rt_opts *o, const char *id, struct berth_error **err) {
  struct rt_state st;
  int r = rt_state_load(o, id, &st, err);
  if (r < 0) return r;
  enum rt_status s = rt_state_status(o, &st);
  if (s == RT_RUNNING || s == RT_PAUSED) r = berr(err, EBUSY, "cannot start an already running container");
  else if (s == RT_STOPPED) r = berr(err, EINVAL, "cannot start a container that has stopped");
  _cleanup_close_ int pidfd = r == 0 ? open_init(&st) : -1;
  if (r == 0 && pidfd < 0) r = berr(err, ESRCH, "container \"%s\" init has exited", id);
  _cleanup_free_ char *dir = rt_statedir(o, id);
  _cleanup_free_ char *fifo = path_join(dir, "exec.fifo");
  if (r == 0) r = release_init(id, fifo, pidfd, err);
  if (r == 0 && rt_hooks_any(st.hooks, "poststart")) {
    _cleanup_json_ json_t *hs = rt_hook_state(st.id, st.pid, "running", st.bundle, st.annotations);
    rt_hooks_run(st.hooks, "poststart", hs, true, NULL);
  }
  rt_state_clear(&st);
  return r;
}

/* processes in the same pid namespace as the init: the fallback for --all without a cgroup */
static int kill_pidns(pid_t init, int sig) {
  char path[64], ns[64], other[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init);
  ssize_t n = readlink(path, ns, sizeof(ns) - 1);
  if (n < 0) return -errno;
  ns[n] = '\0';
  ssize_t m = readlink("/proc/self/ns/pid", other, sizeof(other) - 1);
  if (m >= 0 && (other[m] = '\0', strcmp(ns, other) == 0)) return -EPERM; /* the host's: never all of it */
  _cleanup_closedir_ DIR *d = opendir("/proc");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    int pid = atoi(de->d_name);
    if (pid <= 0) continue;
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
    if ((n = readlink(path, other, sizeof(other) - 1)) < 0) continue;
    other[n] = '\0';
    if (strcmp(ns, other) == 0) kill(pid, sig);
  }
  return 0;
}

int rt_kill(const struct rt_opts *o, const struct rt_state *st, int sig, bool all, struct berth_error **err) {
  _cleanup_close_ int pidfd = open_init(st);
  if (pidfd < 0) return berr(err, ESRCH, "container \"%s\" is not running", st->id);
  if (all) {
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (st->cgroup_path && rt_cgroup_pids(st->cgroup_path, &pids, &n) == 0) {
      for (size_t i = 0; i < n; i++) kill(pids[i], sig);
    } else if (kill_pidns(st->pid, sig) < 0) {
      return berr(err, EINVAL, "kill --all needs a cgroup or a private pid namespace");
    }
  }
  if (sys_pidfd_send_signal(pidfd, sig, NULL, 0) < 0 && !(all && errno == ESRCH))
    return berr_sys(err, errno, "send signal %d to container \"%s\"", sig, st->id);
  return 0;
}

int rt_destroy(const struct rt_opts *o, struct rt_state *st, bool force, struct berth_error **err) {
  enum rt_status s = rt_state_status(o, st);
  /* the spec: deleting a container that is not stopped (created or running) is an error */
  if ((s == RT_RUNNING || s == RT_CREATED || s == RT_PAUSED) && !force)
    return berr(err, EBUSY, "cannot delete container \"%s\" that is not stopped: %s", st->id, rt_status_name(s));
  if (s != RT_STOPPED) {
    _cleanup_close_ int pidfd = open_init(st);
    /* every process of the container; without a cgroup or pid namespace of its own, the init */
    if (rt_kill(o, st, SIGKILL, true, NULL) < 0) rt_kill(o, st, SIGKILL, false, NULL);
    if (st->cgroup_path) rt_cgroup_freeze(st->cgroup_path, false, NULL); /* frozen: SIGKILL waits for a thaw */
    /* the init is not our child: wait for it to exit (the pidfd turns readable), not to be reaped */
    struct pollfd pf = {.fd = pidfd, .events = POLLIN};
    if (pidfd >= 0 && poll(&pf, 1, 10000) == 0)
      return berr(err, ETIMEDOUT, "container \"%s\" did not die after SIGKILL", st->id);
  }
  int r = 0;
  if (s == RT_STOPPED && st->cgroup_path) {
    /* the init is gone, but without a pid namespace of its own its children outlive it and keep
     * the cgroup busy (rmdir: EBUSY, the directory left behind); runc kills them too */
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (rt_cgroup_pids(st->cgroup_path, &pids, &n) == 0)
      for (size_t i = 0; i < n; i++) kill(pids[i], SIGKILL);
  }
  /* a paused container's processes act on SIGKILL (v1) and leave the cgroup only once thawed */
  if (st->cgroup_path) rt_cgroup_freeze(st->cgroup_path, false, NULL);
  if (st->cgroup_path) r = rt_cgroup_destroy(st->cgroup_path, err);
  if (r == 0 && st->host_mounts) r = rt_umount_under(st->rootfs, err);
  _cleanup_free_ char *dir = rt_statedir(o, st->id);
  if (r == 0) r = rm_rf(dir, err);
  /* the spec: poststop runs after the container is deleted, before delete returns */
  if (r == 0 && rt_hooks_any(st->hooks, "poststop")) {
    _cleanup_json_ json_t *hs = rt_hook_state(st->id, 0, "stopped", st->bundle, st->annotations);
    rt_hooks_run(st->hooks, "poststop", hs, true, NULL);
  }
  return r;
}
