/* exec_start.c - POST /exec/{id}/start: a berth-shim in exec mode runs the process (its
 * process.json made from the container's), the hijacked connection is proxied to that shim's
 * attach socket as for attach, and a small thread per running exec reaps the shim and records
 * the exit code (docs/internals.md, "exec mode") */
#define LOG_TAG "berthd"
#include "api/api.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/syscalls.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/exec_int.h"
#include "daemon/stdio_proxy.h"
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define SYNC_TIMEOUT_MS 30000

extern char **environ;

/* every capability Linux 6.x knows, in kernel order (index = number): what --privileged gives an
 * exec'd process, less those the daemon's own bounding set lacks (it could not grant them) */
static const char *const all_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};

/* exec_env_set: Docker's ReplaceOrAppendEnvValues for one entry; "KEY" without '=' removes KEY */
void exec_env_set(json_t *env, const char *kv) {
  const char *eq = strchr(kv, '=');
  size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
  for (size_t i = 0; i < json_array_size(env); i++) {
    const char *cur = json_string_value(json_array_get(env, i));
    if (!cur || strncmp(cur, kv, klen) != 0 || (cur[klen] != '=' && cur[klen] != '\0')) continue;
    if (eq) json_array_set_new(env, i, json_string(kv));
    else json_array_remove(env, i);
    return;
  }
  if (eq) json_array_append_new(env, json_string(kv));
}

static uint64_t own_bounding_set(void) {
  _cleanup_free_ char *t = NULL;
  if (read_file("/proc/self/status", &t, NULL, NULL) < 0) return ~UINT64_C(0);
  const char *p = strstr(t, "\nCapBnd:");
  return p ? strtoull(p + 8, NULL, 16) : ~UINT64_C(0);
}

static void set_privileged(json_t *proc) {
  uint64_t bnd = own_bounding_set();
  json_t *caps = json_object();
  static const char *const sets[] = {"bounding", "effective", "permitted", "inheritable"};
  for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
    json_t *list = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++)
      if (bnd & (UINT64_C(1) << i)) json_array_append_new(list, json_string(all_caps[i]));
    json_object_set_new(caps, sets[s], list);
  }
  json_object_set_new(proc, "capabilities", caps);
  json_object_del(proc, "apparmorProfile");
  json_object_del(proc, "selinuxLabel");
}

/* build_process: the container's process with the exec's command, env, cwd, user and terminal */
static int build_process(struct daemon *d, const struct exec_inst *e, const json_t *size, json_t **out,
                         struct berth_error **err) {
  _cleanup_free_ char *dir = ctr_dir(d, e->ctr_id);
  _cleanup_free_ char *path = path_join(dir, "config.json");
  json_error_t jerr;
  _cleanup_json_ json_t *spec = json_load_file(path, 0, &jerr);
  if (!spec) return berr(err, EIO, "load \"%s\": %s", path, jerr.text);
  json_t *proc = json_deep_copy(json_object_get(spec, "process"));
  if (!json_is_object(proc)) {
    json_decref(proc);
    return berr(err, EIO, "\"%s\" has no process", path);
  }
  const json_t *cfg = e->cfg;
  bool tty = json_is_true(json_object_get(cfg, "Tty"));
  json_object_set_new(proc, "args", json_deep_copy(json_object_get(cfg, "Cmd")));
  json_object_set_new(proc, "terminal", json_boolean(tty));
  json_t *env = json_object_get(proc, "env");
  if (!json_is_array(env)) json_object_set_new(proc, "env", env = json_array());
  if (tty) exec_env_set(env, "TERM=xterm");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "Env"), i, v) exec_env_set(env, json_string_value(v));
  const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
  if (wd && *wd) json_object_set_new(proc, "cwd", json_string(wd));
  const char *user = json_string_value(json_object_get(cfg, "User"));
  if (user && *user) {
    const char *rootfs = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
    long uid, gid;
    int r = ctr_resolve_user(rootfs ? rootfs : "/nonexistent", user, &uid, &gid, err);
    if (r < 0) {
      json_decref(proc);
      return r;
    }
    json_object_set_new(proc, "user", json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
  }
  if (json_is_true(json_object_get(cfg, "Privileged"))) set_privileged(proc);
  /* ConsoleSize [h, w] (API 1.42): the terminal has its size before the process starts */
  if (!json_is_array(size)) size = json_object_get(cfg, "ConsoleSize");
  json_int_t h = json_integer_value(json_array_get(size, 0)), w = json_integer_value(json_array_get(size, 1));
  if (tty && h > 0 && w > 0 && h <= 0xffff && w <= 0xffff)
    json_object_set_new(proc, "consoleSize", json_pack("{s:I, s:I}", "height", h, "width", w));
  *out = proc;
  return 0;
}

/* ---------- the exec shim ---------- */

struct launch {
  pid_t pid;
  int pidfd;
  int sync;
  int attach; /* connected attach socket, or -1 */
};

static char **shim_argv(struct daemon *d, const struct exec_inst *e, const char *dir, const char *process,
                        bool attached) {
  _cleanup_free_ char *rroot = path_join(d->cfg.exec_root, "runtime");
  _cleanup_free_ char *bundle = ctr_dir(d, e->ctr_id);
  const char *fixed[] = {d->cfg.shim_path, "--id", e->ctr_id, "--bundle", bundle, "--state-dir", dir, "--runtime",
                         ctr_runtime_of(d, e->ctr_id), "--runtime-root", rroot, "--log-driver", "none", "--exec-id", e->id,
                         "--process", process};
  char **v = NULL;
  for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) v = strv_push(v, fixed[i]);
  /* Docker closes an exec's stdin when the client's input ends (CloseStdin) */
  if (attached && json_is_true(json_object_get(e->cfg, "AttachStdin"))) {
    v = strv_push(v, "--stdin");
    v = strv_push(v, "--stdin-once");
  }
  if (json_is_true(json_object_get(e->cfg, "Tty"))) v = strv_push(v, "--tty");
  return v;
}

/* spawn: the exec shim, started like a container's (shim_spawn) */
static int spawn(char **argv, struct launch *l, struct berth_error **err) {
  return shim_spawn(argv, &l->pid, &l->pidfd, &l->sync, err);
}

/* expect: the next sync message must start with want; "error MSG" becomes the error */
static int expect(int fd, const char *want, struct berth_error **err) {
  char buf[4096];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n;
  do n = poll(&p, 1, SYNC_TIMEOUT_MS);
  while (n < 0 && errno == EINTR);
  if (n == 0) return berr(err, ETIMEDOUT, "the exec shim did not answer in %d s", SYNC_TIMEOUT_MS / 1000);
  ssize_t len;
  do len = recv(fd, buf, sizeof(buf) - 1, 0);
  while (len < 0 && errno == EINTR);
  if (len < 0) return berr_sys(err, errno, "read from the exec shim");
  buf[len] = '\0';
  if (strncmp(buf, want, strlen(want)) == 0) return 0;
  if (strncmp(buf, "error ", 6) == 0) return berr(err, EIO, "OCI runtime exec failed: %s", buf + 6);
  if (!buf[0]) return berr(err, EIO, "OCI runtime exec failed: the shim exited");
  return berr(err, EPROTO, "unexpected message from the exec shim: \"%s\"", buf);
}

/* exit_code_for: Docker's codes for a process that could not be started */
static int exit_code_for(const char *msg) {
  static const struct {
    const char *text;
    int code;
  } t[] = {{"executable file not found", 127}, {"no such file or directory", 127}, {"No such file or directory", 127},
           {"permission denied", 126},         {"Permission denied", 126}};
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    if (strstr(msg, t[i].text)) return t[i].code;
  return 126;
}

static pid_t read_pid(const char *dir) {
  _cleanup_free_ char *p = path_join(dir, "init.pid");
  _cleanup_free_ char *t = NULL;
  if (read_file(p, &t, NULL, NULL) < 0) return 0;
  return (pid_t)strtol(t, NULL, 10);
}

/* run_shim: created -> (attach) -> start -> started */
static int run_shim(struct daemon *d, struct exec_inst *e, const json_t *size, const char *dir, bool attached,
                    struct launch *l, struct berth_error **err) {
  _cleanup_json_ json_t *proc = NULL;
  int r = build_process(d, e, size, &proc, err);
  if (r < 0) return r;
  _cleanup_free_ char *process = path_join(dir, "process.json");
  _cleanup_free_ char *text = json_dumps(proc, JSON_COMPACT);
  if ((r = mkdir_p(dir, 0700, err)) < 0 || (r = write_file_atomic(process, text, strlen(text), 0600, 0, err)) < 0)
    return r;
  _cleanup_strv_ char **argv = shim_argv(d, e, dir, process, attached);
  if ((r = spawn(argv, l, err)) < 0) return r;
  r = expect(l->sync, "created", err);
  if (r == 0 && attached) l->attach = ctr_attach_connect(dir, err);
  if (r == 0 && l->attach < 0 && attached) r = l->attach;
  if (r == 0 && send(l->sync, "start", 5, MSG_NOSIGNAL) < 0) r = berr_sys(err, errno, "send start to the exec shim");
  if (r == 0) r = expect(l->sync, "started", err);
  return r;
}

/* ---------- the reaper of a running exec ---------- */

struct reaper {
  struct daemon *d;
  struct exec_inst *e; /* referenced */
  int pidfd;
  char *dir;
};

static int read_exit_code(const char *dir) {
  _cleanup_free_ char *p = path_join(dir, "exit");
  _cleanup_free_ char *t = NULL;
  int code;
  if (read_file(p, &t, NULL, NULL) < 0 || sscanf(t, "%d", &code) != 1) return 255; /* the shim died */
  return code;
}

static void *reaper_main(void *arg) {
  struct reaper *rp = arg;
  struct daemon *d = rp->d;
  struct pollfd p[2] = {{.fd = rp->pidfd, .events = POLLIN}, {.fd = d->stop_efd, .events = POLLIN}};
  while (poll(p, 2, -1) < 0 && errno == EINTR) {
  }
  if (p[0].revents) {
    siginfo_t si;
    while (waitid((idtype_t)P_PIDFD, (id_t)rp->pidfd, &si, WEXITED) < 0 && errno == EINTR) {
    }
    int code = read_exit_code(rp->dir);
    pthread_mutex_lock(&d->execs->mu);
    rp->e->running = false;
    rp->e->has_exit = true;
    rp->e->exit_code = code;
    rp->e->pid = 0;
    rp->e->ended_ns = time_now_ns();
    pthread_cond_broadcast(&d->execs->cond);
    pthread_mutex_unlock(&d->execs->mu);
    rm_rf(rp->dir, NULL);
    char codes[16];
    snprintf(codes, sizeof(codes), "%d", code);
    events_emit(d, "container", "exec_die", rp->e->ctr_id, json_pack("{s:s, s:s}", "execID", rp->e->id, "exitCode", codes));
    log_debug("Exec %.12s in %.12s exited with %d", rp->e->id, rp->e->ctr_id, code);
  } /* else berthd is stopping: the exec goes on without us, like a container */
  close(rp->pidfd);
  exec_put(d->execs, rp->e);
  free(rp->dir);
  free(rp);
  return NULL;
}

static int start_reaper(struct daemon *d, struct exec_inst *e, int pidfd, const char *dir, struct berth_error **err) {
  struct reaper *rp = xcalloc(1, sizeof(*rp));
  rp->d = d;
  rp->e = exec_get(d->execs, e->id);
  rp->pidfd = pidfd;
  rp->dir = xstrdup(dir);
  pthread_t th;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 64 * 1024);
  int rc = pthread_create(&th, &at, reaper_main, rp);
  pthread_attr_destroy(&at);
  if (rc != 0) {
    exec_put(d->execs, rp->e);
    free(rp->dir);
    free(rp);
    return berr_sys(err, rc, "start the exec reaper thread");
  }
  return 0;
}

/* exec_launch: run e; on success it is running, its reaper watches it and *attach_fd (when
 * attached) carries its I/O; on failure its exit code is Docker's 126/127 */
static int exec_launch(struct daemon *d, struct exec_inst *e, const json_t *size, bool attached, int *attach_fd,
                       struct berth_error **err) {
  _cleanup_free_ char *dir = exec_state_dir(d, e);
  struct launch l = {.pid = 0, .pidfd = -1, .sync = -1, .attach = -1};
  int r = run_shim(d, e, size, dir, attached, &l, err);
  if (l.sync >= 0) close(l.sync); /* before "start" this also tells the shim to give up */
  pid_t pid = r == 0 ? read_pid(dir) : 0;
  if (r == 0) {
    pthread_mutex_lock(&d->execs->mu);
    e->running = true;
    e->pid = pid;
    pthread_cond_broadcast(&d->execs->cond); /* a resize may be waiting for the terminal */
    pthread_mutex_unlock(&d->execs->mu);
    r = start_reaper(d, e, l.pidfd, dir, err);
    if (r == 0) l.pidfd = -1;
  }
  if (r < 0) {
    if (l.attach >= 0) close(l.attach);
    l.attach = -1;
    if (l.pid > 0) {
      if (r != -EIO && l.pidfd >= 0) sys_pidfd_send_signal(l.pidfd, SIGKILL, NULL, 0);
      while (waitpid(l.pid, NULL, 0) < 0 && errno == EINTR) {
      }
    }
    rm_rf(dir, NULL);
    pthread_mutex_lock(&d->execs->mu);
    e->running = false;
    e->has_exit = true;
    e->exit_code = exit_code_for(berr_msg(*err));
    e->ended_ns = time_now_ns();
    pthread_cond_broadcast(&d->execs->cond);
    pthread_mutex_unlock(&d->execs->mu);
  }
  if (l.pidfd >= 0) close(l.pidfd);
  *attach_fd = l.attach;
  return r;
}

/* ---------- the hijacked stream ---------- */

struct xstream {
  struct daemon *d;
  struct exec_inst *e; /* referenced */
  struct stdio_proxy p; /* p.fd: the shim's attach socket, or -1 when start failed */
  char *failure;       /* start's error, told in the stream as Docker does */
  json_t *size;        /* ConsoleSize of the start request, or NULL */
};

static void xstream_free(struct xstream *x) {
  if (x->p.fd >= 0) close(x->p.fd);
  exec_put(x->d->execs, x->e);
  free(x->failure);
  json_decref(x->size);
  free(x);
}

/* wait_recorded: the output is over; let the reaper record the exit first, so that the client's
 * GET /exec/{id}/json right after sees the ExitCode */
static void wait_recorded(struct xstream *x) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 5;
  pthread_mutex_lock(&x->d->execs->mu);
  while (x->e->running && !x->d->stopping)
    if (pthread_cond_timedwait(&x->d->execs->cond, &x->d->execs->mu, &dl) == ETIMEDOUT) break;
  pthread_mutex_unlock(&x->d->execs->mu);
}

static void proxy(struct xstream *x, int client, const char *extra, size_t extra_len) {
  enum proxy_end end = proxy_run(&x->p, client, extra, extra_len);
  if (end == PROXY_OUTPUT_END) wait_recorded(x);
  if (end == PROXY_DETACHED) /* Docker's event when the client leaves with the detach keys */
    events_emit(x->d, "container", "exec_detach", x->e->ctr_id, json_pack("{s:s}", "execID", x->e->id));
}

/* launch: run the exec now; its event, or its failure (kept in x->failure) */
static int launch(struct xstream *x, bool attached, struct berth_error **err) {
  int rc = exec_launch(x->d, x->e, x->size, attached, &x->p.fd, err);
  if (rc < 0) {
    x->failure = xstrdup(berr_msg(*err));
    return rc;
  }
  _cleanup_free_ char *action = exec_event_action("exec_start", x->e->cfg);
  events_emit(x->d, "container", action, x->e->ctr_id, json_pack("{s:s}", "execID", x->e->id));
  return 0;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
  struct xstream *x = cls;
  fd_set_nonblock(sock, 0); /* thread per connection: blocking here blocks this client only */
  _cleanup_berr_ struct berth_error *err = NULL;
  if (launch(x, true, &err) < 0) {
    /* Docker writes the error into the hijacked stream, on stdout, then ends it */
    _cleanup_free_ char *msg = xasprintf("%s\r\n", x->failure);
    x->p.out = true;
    proxy_write_out(&x->p, sock, API_STREAM_STDOUT, msg, strlen(msg));
  } else {
    proxy(x, sock, extra_in, extra_in_size);
  }
  xstream_free(x);
  MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* on_read: output only, for a client that did not ask for an upgrade */
static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct xstream *x = cls;
  ssize_t n = proxy_read(&x->p, buf, max);
  if (n > 0) return n;
  if (n == 0 && x->p.fd >= 0) wait_recorded(x);
  return MHD_CONTENT_READER_END_OF_STREAM;
}

static void on_read_free(void *cls) { xstream_free(cls); }

/* claim: the container must still run; the exec may start once */
static int claim(struct daemon *d, struct exec_inst *e, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int r = store_container_get(d->store, e->ctr_id, &c, err);
  if (r < 0) return r;
  struct ctr_state *st = ctr_state_get(d->ctrs, c->id);
  pthread_mutex_lock(&st->mu);
  bool running = st->running;
  pthread_mutex_unlock(&st->mu);
  ctr_state_put(d->ctrs, st);
  if (!running) return berr(err, EBUSY, "Container %s is not running", c->id);
  if (strcmp(c->status, "paused") == 0)
    return berr(err, EBUSY, "Container %s is paused, unpause the container before exec", c->id);
  pthread_mutex_lock(&d->execs->mu);
  if (e->started)
    r = berr(err, EBUSY, e->running ? "Error: Exec command %s is already running" : "Error: Exec command %s has already run",
             e->id);
  e->started = true;
  pthread_mutex_unlock(&d->execs->mu);
  return r;
}

int h_exec_start(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *body = NULL;
  int rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  const char *id = req_param(r, "id");
  struct exec_inst *e = exec_get(r->d->execs, id);
  if (!e) return berr(err, ENOENT, "No such exec instance: %s", id);
  if ((rc = claim(r->d, e, err)) < 0) {
    exec_put(r->d->execs, e);
    return rc;
  }
  struct xstream *x = xcalloc(1, sizeof(*x));
  x->d = r->d;
  x->e = e;
  x->p.fd = -1;
  x->p.stop_efd = r->d->stop_efd;
  x->size = json_incref(json_object_get(body, "ConsoleSize"));
  x->p.tty = json_is_true(json_object_get(e->cfg, "Tty"));
  x->p.in = json_is_true(json_object_get(e->cfg, "AttachStdin"));
  x->p.out = json_is_true(json_object_get(e->cfg, "AttachStdout"));
  x->p.err = json_is_true(json_object_get(e->cfg, "AttachStderr"));
  if (exec_parse_keys(json_string_value(json_object_get(e->cfg, "DetachKeys")), x->p.keys, sizeof(x->p.keys),
                      &x->p.nkeys) < 0)
    x->p.nkeys = 0; /* checked at create: cannot happen */
  const char *up = req_header(r, "Upgrade");
  if (json_is_true(json_object_get(body, "Detach")) || !(up && *up)) {
    bool detach = json_is_true(json_object_get(body, "Detach"));
    rc = launch(x, !detach, err);
    if (rc < 0 || detach) {
      xstream_free(x);
      return rc;
    }
    out->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, on_read, x, on_read_free);
  } else {
    /* the process starts once the 101 is out, as Docker's: a client that reads the head
     * through a buffer (docker-py) must not find the first output in that buffer */
    out->resp = MHD_create_response_for_upgrade(on_upgrade, x);
    MHD_add_response_header(out->resp, "Upgrade", "tcp");
    out->status = MHD_HTTP_SWITCHING_PROTOCOLS;
  }
  MHD_add_response_header(out->resp, "Content-Type",
                          x->p.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");
  return 0;
}
