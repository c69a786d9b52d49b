/* monitor.c - one thread watching every shim through its pidfd (epoll); on exit it reaps our
 * children and hands the container to ctr_handle_exit. Also startup reconciliation (restore),
 * and the start and stop of a container's health checks (ctr_health.c). */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "storage/storage.h"
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct monitor {
  int epfd;
  pthread_t thread;
  bool started;
};

static void *monitor_main(void *arg) {
  struct daemon *d = arg;
  struct epoll_event evs[16];
  for (;;) {
    int n = epoll_wait(d->mon->epfd, evs, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log_error("Monitor: epoll_wait: %s", strerror(errno));
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      struct ctr_state *st = evs[i].data.ptr;
      if (!st) return NULL; /* the stop eventfd */
      pthread_mutex_lock(&st->mu);
      int pidfd = st->shim_pidfd;
      bool child = st->shim_is_child;
      pthread_mutex_unlock(&st->mu);
      epoll_ctl(d->mon->epfd, EPOLL_CTL_DEL, pidfd, NULL);
      if (child) {
        siginfo_t si;
        while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR) {
        }
      }
      health_ctr_stopped(d, st->id);
      ctr_handle_exit(d, st);
      ctr_state_put(d->ctrs, st); /* the reference monitor_watch took */
    }
  }
}

int monitor_start(struct daemon *d, struct berth_error **err) {
  struct monitor *m = xcalloc(1, sizeof(*m));
  d->mon = m;
  m->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (m->epfd < 0) return berr_sys(err, errno, "epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, d->stop_efd, &ev) < 0) return berr_sys(err, errno, "epoll_ctl");
  int rc = pthread_create(&m->thread, NULL, monitor_main, d);
  if (rc != 0) return berr_sys(err, rc, "start the monitor thread");
  m->started = true;
  return health_open(d, err);
}

void monitor_stop(struct daemon *d) {
  health_close(d);
  if (!d->mon) return;
  if (d->mon->started) pthread_join(d->mon->thread, NULL);
  if (d->mon->epfd >= 0) close(d->mon->epfd);
  free(d->mon);
  d->mon = NULL;
}

int monitor_watch(struct daemon *d, struct ctr_state *s, struct berth_error **err) {
  struct ctr_state *ref = ctr_state_get(d->ctrs, s->id); /* held until the exit is handled */
  pthread_mutex_lock(&s->mu);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ref};
  int rc = s->shim_pidfd >= 0 ? epoll_ctl(d->mon->epfd, EPOLL_CTL_ADD, s->shim_pidfd, &ev) : -1;
  int e = errno;
  pthread_mutex_unlock(&s->mu);
  if (rc < 0) {
    ctr_state_put(d->ctrs, ref);
    return berr_sys(err, s->shim_pidfd < 0 ? EBADF : e, "watch the shim of %.12s", s->id);
  }
  health_ctr_started(d, s->id); /* a start, or a running container adopted at startup */
  return 0;
}

/* ---------- restore ---------- */

static pid_t read_pid(const char *dir, const char *name) {
  _cleanup_free_ char *p = path_join(dir, name);
  _cleanup_free_ char *t = NULL;
  if (read_file(p, &t, NULL, NULL) < 0) return 0;
  return (pid_t)strtol(t, NULL, 10);
}

/* is_shim: /proc/PID/cmdline's program is a berth-shim (the pid was not reused by another program) */
static bool is_shim(pid_t pid) {
  _cleanup_free_ char *p = xasprintf("/proc/%d/cmdline", (int)pid);
  _cleanup_free_ char *t = NULL;
  if (read_file(p, &t, NULL, NULL) < 0) return false;
  const char *base = strrchr(t, '/');
  base = base ? base + 1 : t;
  return strcmp(base, "berth-shim") == 0;
}

/* adopt_or_reap: watch the shim of a container that runs; record the exit of one whose shim died.
 * A container waiting out its restart backoff has no shim: it keeps its state, and
 * restart_after_restore starts it (Docker restores a restarting container the same way) */
static void adopt_or_reap(struct daemon *d, const struct store_container *c) {
  _cleanup_free_ char *shim_dir = ctr_shim_dir(d, c->id);
  struct ctr_state *st = ctr_state_get(d->ctrs, c->id);
  pid_t pid = read_pid(shim_dir, "shim.pid");
  int pidfd = pid > 0 ? sys_pidfd_open(pid, 0) : -1;
  if (pidfd >= 0 && !is_shim(pid)) {
    close(pidfd);
    pidfd = -1;
  }
  if (pidfd < 0 && strcmp(c->status, "restarting") == 0) {
    log_info("Container %.12s: it was waiting to restart; its restart policy decides again", c->id);
    ctr_state_put(d->ctrs, st);
    return;
  }
  if (pidfd < 0) {
    log_info("Container %.12s: its shim is gone; recording the exit", c->id);
    ctr_handle_exit(d, st);
    ctr_state_put(d->ctrs, st);
    return;
  }
  pid_t init = read_pid(shim_dir, "init.pid");
  pthread_mutex_lock(&st->mu);
  st->running = true;
  st->shim_pid = pid;
  st->shim_pidfd = pidfd;
  st->shim_is_child = false;
  st->init_pidfd = sys_pidfd_open(init > 0 ? init : c->pid, 0);
  pthread_mutex_unlock(&st->mu);
  _cleanup_berr_ struct berth_error *err = NULL;
  if (monitor_watch(d, st, &err) < 0) log_error("%s", berr_msg(err));
  log_info("Container %.12s: adopted its running shim (pid %d)", c->id, (int)pid);
  ctr_state_put(d->ctrs, st);
}

static bool in_list(struct store_container **list, const char *id) {
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i]->id, id) == 0) return true;
  return false;
}

/* remove_orphan_dirs: container directories without a row are half-made creations */
static void remove_orphan_dirs(struct daemon *d, struct store_container **list) {
  _cleanup_free_ char *root = path_join(d->cfg.data_root, "containers");
  _cleanup_closedir_ DIR *dir = opendir(root);
  struct dirent *de;
  while (dir && (de = readdir(dir))) {
    if (de->d_name[0] == '.' || in_list(list, de->d_name)) continue;
    _cleanup_free_ char *p = path_join(root, de->d_name);
    _cleanup_berr_ struct berth_error *err = NULL;
    log_info("Removing half-made container directory %s", p);
    storage_container_umount(d->storage, p, NULL);
    if (storage_container_remove(d->storage, p, &err) < 0 || rm_rf(p, &err) < 0)
      log_warn("Remove %s: %s", p, berr_msg(err));
  }
}

int ctr_restore(struct daemon *d, struct berth_error **err) {
  struct store_container **list = NULL;
  int r = store_container_list(d->store, &list, err);
  if (r < 0) return r;
  for (size_t i = 0; list[i]; i++) {
    struct store_container *c = list[i];
    _cleanup_berr_ struct berth_error *e = NULL;
    health_restore(d, c);
    if (strcmp(c->status, "running") == 0 || strcmp(c->status, "paused") == 0 ||
        strcmp(c->status, "restarting") == 0) {
      adopt_or_reap(d, c);
    } else if (strcmp(c->status, "removing") == 0) {
      if (ctr_remove_files(d, c->id, &e) < 0) log_warn("%s", berr_msg(e));
    } else {
      _cleanup_free_ char *dir = ctr_dir(d, c->id);
      if (storage_container_umount(d->storage, dir, &e) < 0) log_warn("%s", berr_msg(e));
    }
  }
  remove_orphan_dirs(d, list);
  store_container_list_free(list);
  return 0;
}
