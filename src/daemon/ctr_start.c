/* ctr_start.c - starting a container: mount its rootfs, write the OCI bundle, spawn its shim
 * (posix_spawn, sync socket on fd 3), connect pending attaches, then let the process run */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "common/strv.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include "storage/storage.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define SYNC_TIMEOUT_MS 60000

extern char **environ;

int ctr_attach_connect(const char *shim_dir, struct berth_error **err) {
  /* connect through /proc/self/fd: the socket's full path may exceed sun_path's 108 bytes */
  _cleanup_close_ int dfd = open(shim_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return berr_sys(err, errno, "open \"%s\"", shim_dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach", dfd);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return berr_sys(err, errno, "socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    return berr_sys(err, errno, "connect to \"%s/attach\"", shim_dir);
  return take_fd(&fd);
}

/* sync_recv: one message from the shim; "" when it closed the socket */
static int sync_recv(int fd, char *buf, size_t size, struct berth_error **err) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n;
  do n = poll(&p, 1, SYNC_TIMEOUT_MS);
  while (n < 0 && errno == EINTR);
  if (n == 0) return berr(err, ETIMEDOUT, "the shim did not answer in %d s", SYNC_TIMEOUT_MS / 1000);
  ssize_t len;
  do len = recv(fd, buf, size - 1, 0);
  while (len < 0 && errno == EINTR);
  if (len < 0) return berr_sys(err, errno, "read from the shim");
  buf[len] = '\0';
  return 0;
}

/* expect: the message must start with want; "error MSG" becomes the error */
static int expect(int fd, const char *want, const char *stage, char *buf, size_t size, struct berth_error **err) {
  int r = sync_recv(fd, buf, size, err);
  if (r < 0) return r;
  if (strncmp(buf, want, strlen(want)) == 0) return 0;
  if (strncmp(buf, "error ", 6) == 0) return berr(err, EIO, "OCI runtime %s failed: %s", stage, buf + 6);
  if (!buf[0]) return berr(err, EIO, "OCI runtime %s failed: the shim exited", stage);
  return berr(err, EPROTO, "unexpected message from the shim: \"%s\"", buf);
}

struct shim_proc {
  pid_t pid;
  int pidfd;
  int sync;
};

static char **shim_argv(struct daemon *d, const struct store_container *c, const json_t *cfg, const json_t *hc,
                        const char *runtime, const char *dir, const char *shim_dir) {
  _cleanup_free_ char *rroot = path_join(d->cfg.exec_root, "runtime");
  _cleanup_free_ char *log = ctr_log_path(d, c->id);
  const char *driver = json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type"));
  char **v = NULL;
  const char *fixed[] = {d->cfg.shim_path, "--id", c->id, "--bundle", dir, "--state-dir", shim_dir, "--runtime",
                         runtime, "--runtime-root", rroot, "--log-driver",
                         driver && *driver ? driver : "json-file", "--log-path", log};
  for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) v = strv_push(v, fixed[i]);
  if (json_is_true(json_object_get(cfg, "OpenStdin"))) v = strv_push(v, "--stdin");
  if (json_is_true(json_object_get(cfg, "StdinOnce"))) v = strv_push(v, "--stdin-once");
  if (json_is_true(json_object_get(cfg, "Tty"))) v = strv_push(v, "--tty");
  struct ctr_log_limits ll;
  _cleanup_berr_ struct berth_error *e = NULL;
  if ((!driver || strcmp(driver, "none") != 0) && ctr_log_limits(hc, d->cfg.log_opts, &ll, &e) == 0 && ll.max_size > 0) {
    char n[2][24];
    snprintf(n[0], sizeof(n[0]), "%lld", (long long)ll.max_size);
    snprintf(n[1], sizeof(n[1]), "%d", ll.max_file);
    v = strv_push(strv_push(strv_push(strv_push(v, "--log-max-size"), n[0]), "--log-max-file"), n[1]);
  }
  return v;
}

/* shim_spawn: posix_spawn (vfork-fast and safe in a threaded process) with fds 0-2 on
 * /dev/null, fd 3 the sync socket, default signal dispositions and an empty mask */
int shim_spawn(char **argv, pid_t *pid, int *pidfd, int *sync_fd, struct berth_error **err) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return berr_sys(err, errno, "socketpair");
  _cleanup_close_ int parent = sv[0], child = sv[1];
  if (child == 3) {
    /* dup2(3, 3) would leave close-on-exec set */
    child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    close(sv[1]);
    if (child < 0) return berr_sys(err, errno, "dup");
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&fa, 0, 1);
  posix_spawn_file_actions_adddup2(&fa, 0, 2);
  posix_spawn_file_actions_adddup2(&fa, child, 3);
  posix_spawnattr_init(&at);
  sigset_t none, def;
  sigemptyset(&none);
  sigfillset(&def);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &def);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawn(pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return berr_sys(err, rc, "start the shim \"%s\"", argv[0]);
  /* our child: its pid cannot be reused before we reap it, so this pidfd is the shim's */
  *pidfd = sys_pidfd_open(*pid, 0);
  *sync_fd = take_fd(&parent);
  return 0;
}

static int spawn_shim(char **argv, struct shim_proc *sp, struct berth_error **err) {
  return shim_spawn(argv, &sp->pid, &sp->pidfd, &sp->sync, err);
}

/* connect_waiters: attach clients waiting for this start get their socket before "start" */
static void connect_waiters(struct ctr_state *st, const char *shim_dir) {
  pthread_mutex_lock(&st->mu);
  for (struct attach_waiter *w = st->waiters; w; w = w->next) {
    if (w->done) continue;
    _cleanup_berr_ struct berth_error *e = NULL;
    w->fd = ctr_attach_connect(shim_dir, &e);
    if (w->fd < 0) log_warn("Attach to %.12s: %s", st->id, berr_msg(e));
    w->done = true;
  }
  pthread_cond_broadcast(&st->cond);
  pthread_mutex_unlock(&st->mu);
}

static void fail_waiters(struct ctr_state *st) {
  pthread_mutex_lock(&st->mu);
  for (struct attach_waiter *w = st->waiters; w; w = w->next) w->done = true;
  pthread_cond_broadcast(&st->cond);
  pthread_mutex_unlock(&st->mu);
}

/* exit_code_for: Docker's codes for a process that could not be started */
static int exit_code_for(const char *msg) {
  if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
      strstr(msg, "No such file or directory"))
    return 127;
  if (strstr(msg, "permission denied") || strstr(msg, "Permission denied")) return 126;
  return 128;
}

/* run_shim: spawn the shim and walk it through created -> start -> started */
static int run_shim(struct daemon *d, struct ctr_state *st, char **argv, const char *shim_dir,
                    struct berth_error **err) {
  struct shim_proc sp = {.pidfd = -1, .sync = -1};
  char msg[4096];
  int r = spawn_shim(argv, &sp, err);
  if (r < 0) return r;
  r = expect(sp.sync, "created ", "create", msg, sizeof(msg), err);
  int init_pidfd = -1;
  pid_t init = 0;
  if (r == 0) {
    init = (pid_t)strtol(msg + 8, NULL, 10);
    init_pidfd = sys_pidfd_open(init, 0);
    if (init_pidfd < 0) r = berr_sys(err, errno, "container init %d", (int)init);
    connect_waiters(st, shim_dir);
  }
  if (r == 0 && send(sp.sync, "start", 5, MSG_NOSIGNAL) < 0) r = berr_sys(err, errno, "send start to the shim");
  if (r == 0) r = expect(sp.sync, "started", "start", msg, sizeof(msg), err);
  close(sp.sync);
  if (r < 0) {
    /* closing the sync socket tells the shim to delete the container and go */
    if (init_pidfd >= 0) close(init_pidfd);
    if (sp.pidfd >= 0) close(sp.pidfd);
    waitpid(sp.pid, NULL, 0);
    return r;
  }
  char now[64];
  time_now_rfc3339nano(now, sizeof(now));
  r = store_container_set_running(d->store, st->id, (int)init, now, err);
  pthread_mutex_lock(&st->mu);
  st->running = true;
  st->shim_pid = sp.pid;
  st->shim_pidfd = sp.pidfd;
  st->shim_is_child = true;
  st->init_pidfd = init_pidfd;
  pthread_mutex_unlock(&st->mu);
  struct berth_error *e2 = NULL;
  if (monitor_watch(d, st, &e2) < 0) {
    log_error("Watch shim of %.12s: %s", st->id, berr_msg(e2));
    berr_free(e2);
  }
  return r;
}

static int prepare_bundle(struct daemon *d, const struct store_container *c, const json_t *cfg, const json_t *hc,
                          const char *dir, struct berth_error **err) {
  _cleanup_image_ struct image *img = NULL;
  int r = image_get(d->images, c->image_id, &img, err);
  if (r < 0) return r;
  r = storage_container_mount(d->storage, dir, img->chain_ids, err);
  if (r < 0) return r;
  _cleanup_json_ json_t *spec = NULL;
  r = ctr_build_spec(c, cfg, hc, dir, &spec, err);
  if (r == 0) r = ctr_net_setup(d, c, cfg, hc, dir, spec, err);
  if (r < 0) return r;
  _cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
  _cleanup_free_ char *path = path_join(dir, "config.json");
  return write_file_atomic(path, text, strlen(text), 0600, 0, err);
}

static int start_locked(struct daemon *d, struct ctr_state *st, const struct store_container *c,
                        struct berth_error **err) {
  if (st->running) return berr(err, 304, "Container %s is already running", c->id);
  if (st->removed || strcmp(c->status, "removing") == 0 || strcmp(c->status, "dead") == 0)
    return berr(err, EBUSY, "container %s is marked for removal and cannot be started", c->id);
  _cleanup_json_ json_t *cfg = json_loads(c->config_json, 0, NULL);
  _cleanup_json_ json_t *hc = json_loads(c->host_config_json, 0, NULL);
  _cleanup_free_ char *dir = ctr_dir(d, c->id);
  _cleanup_free_ char *shim_dir = ctr_shim_dir(d, c->id);
  /* HostConfig.Runtime: checked at create; the daemon may have been restarted without it since */
  const char *runtime = ctr_runtime_path(&d->cfg, json_string_value(json_object_get(hc, "Runtime")));
  int r = runtime ? 0 : ctr_runtime_check(&d->cfg, hc, err);
  if (r == 0) r = prepare_bundle(d, c, cfg, hc, dir, err);
  if (r == 0) r = rm_rf(shim_dir, err);
  if (r == 0) r = mkdir_p(shim_dir, 0700, err);
  if (r == 0) {
    _cleanup_strv_ char **argv = shim_argv(d, c, cfg, hc, runtime, dir, shim_dir);
    r = run_shim(d, st, argv, shim_dir, err);
  }
  if (r == 0 && c->oom_killed) ctr_set_oom_killed(d, c->id, false); /* only then: the run path stays short */
  if (r < 0) {
    fail_waiters(st);
    ctr_net_teardown(d, c->id, true);
    storage_container_umount(d->storage, dir, NULL);
    rm_rf(shim_dir, NULL);
    if (*err && (*err)->msg && strncmp((*err)->msg, "OCI runtime", 11) == 0) {
      char now[64];
      time_now_rfc3339nano(now, sizeof(now));
      store_container_set_exited(d->store, c->id, exit_code_for((*err)->msg), now, (*err)->msg, NULL);
      store_container_set_status(d->store, c->id, strncmp(c->started_at, "0001-01-01", 10) == 0 ? "created" : "exited", NULL);
    }
  }
  return r;
}

int ctr_start(struct daemon *d, const char *ref, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int r = store_container_find(d->store, ref, &c, err);
  if (r < 0) return r;
  struct ctr_state *st = ctr_state_get(d->ctrs, c->id);
  ctr_lifecycle_begin(st);
  restart_on_start(d, st);
  r = start_locked(d, st, c, err);
  if (r == 0) events_volume_mounts(d, c->id, true);
  if (r == 0) events_emit(d, "container", "start", c->id, NULL);
  ctr_lifecycle_end(st);
  ctr_state_put(d->ctrs, st);
  /* moby containerStart: a --rm container whose start failed is removed (its client waits for that) */
  if (r < 0 && r != -304 && r != -EBUSY) ctr_maybe_autoremove(d, c->id);
  return r;
}
