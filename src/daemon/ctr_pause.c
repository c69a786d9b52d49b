/* ctr_pause.c - pause/unpause (the OCI runtime's pause and resume: the cgroup freezer), container
 * resize (the shim's control socket) and top (the host's ps, filtered to the container's cgroup) */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "daemon/exec_int.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PS_OUTPUT_MAX (16 << 20)

extern char **environ;

/* spawn_capture: run argv (PATH searched) with stdout (and stderr when both) into *out; *status
 * as from waitpid */
static int spawn_capture(char *const argv[], bool both, char **out, int *status, struct berth_error **err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return berr_sys(err, errno, "pipe");
  _cleanup_close_ int rd = p[0], wr = p[1];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr, 1);
  if (both) posix_spawn_file_actions_adddup2(&fa, wr, 2);
  else posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_init(&at);
  sigset_t none, def;
  sigemptyset(&none);
  sigfillset(&def);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &def);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return berr_sys(err, rc, "run \"%s\"", argv[0]);
  close(take_fd(&wr));
  int r = read_all(rd, out, NULL, PS_OUTPUT_MAX);
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) return berr_sys(err, errno, "wait for \"%s\"", argv[0]);
  }
  return r < 0 ? berr_sys(err, -r, "read the output of \"%s\"", argv[0]) : 0;
}

/* run_runtime: `RUNTIME --root E/runtime CMD ID`; its message becomes the error */
static int run_runtime(struct daemon *d, const char *cmd, const char *id, struct berth_error **err) {
  _cleanup_free_ char *root = path_join(d->cfg.exec_root, "runtime");
  const char *argv[] = {ctr_runtime_of(d, id), "--root", root, cmd, id, NULL};
  _cleanup_free_ char *text = NULL;
  int status = 0;
  int r = spawn_capture((char *const *)argv, true, &text, &status, err);
  if (r < 0) return r;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  size_t n = text ? strlen(text) : 0;
  while (n && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
  const char *msg = text && *text ? text : "failed";
  if (strncmp(msg, "berth-runtime: ", 15) == 0) msg += 15;
  return berr(err, EIO, "OCI runtime %s failed: %s", cmd, msg);
}

/* running_row: the store row of ref, and whether its shim runs */
static int running_row(struct daemon *d, const char *ref, struct store_container **c, struct berth_error **err) {
  int r = store_container_find(d->store, ref, c, err);
  if (r < 0) return r;
  struct ctr_state *st = ctr_state_get(d->ctrs, (*c)->id);
  pthread_mutex_lock(&st->mu);
  bool running = st->running;
  pthread_mutex_unlock(&st->mu);
  ctr_state_put(d->ctrs, st);
  return running ? 0 : berr(err, EBUSY, "Container %s is not running", (*c)->id);
}

/* freeze: pause (true) or unpause under the container's lifecycle turn */
static int freeze(struct daemon *d, const char *ref, bool pause, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *first = NULL;
  int r = store_container_find(d->store, ref, &first, err);
  if (r < 0) return r;
  struct ctr_state *st = ctr_state_get(d->ctrs, first->id);
  ctr_lifecycle_begin(st);
  _cleanup_store_container_ struct store_container *c = NULL;
  r = running_row(d, first->id, &c, err); /* again, now that start/stop cannot interleave */
  if (r == -EBUSY && !pause) { /* Docker asks "paused?" first: a stopped container is "not paused" */
    berr_clear(err);
    r = berr(err, EBUSY, "Container %s is not paused", first->id);
  }
  bool paused = r == 0 && strcmp(c->status, "paused") == 0;
  if (r == 0 && pause && paused) r = berr(err, EBUSY, "Container %s is already paused", c->id);
  if (r == 0 && !pause && !paused) r = berr(err, EBUSY, "Container %s is not paused", c->id);
  if (r == 0) r = run_runtime(d, pause ? "pause" : "resume", c->id, err);
  if (r == 0) r = store_container_set_status(d->store, c->id, pause ? "paused" : "running", err);
  if (r == 0) events_emit(d, "container", pause ? "pause" : "unpause", c->id, NULL);
  ctr_lifecycle_end(st);
  ctr_state_put(d->ctrs, st);
  return r;
}

int ctr_pause_set(struct daemon *d, const char *ref, bool pause, struct berth_error **err) {
  return freeze(d, ref, pause, err);
}

int h_ctr_pause(struct req *r, struct reply *out, struct berth_error **err) {
  int rc = freeze(r->d, req_param(r, "id"), true, err);
  if (rc == 0) out->status = 204;
  return rc;
}

int h_ctr_unpause(struct req *r, struct reply *out, struct berth_error **err) {
  int rc = freeze(r->d, req_param(r, "id"), false, err);
  if (rc == 0) out->status = 204;
  return rc;
}

void ctr_pause_thaw_locked(struct daemon *d, struct ctr_state *st) {
  _cleanup_store_container_ struct store_container *c = NULL;
  if (store_container_get(d->store, st->id, &c, NULL) < 0 || strcmp(c->status, "paused") != 0) return;
  char id[65];
  memcpy(id, st->id, sizeof(id));
  pthread_mutex_unlock(&st->mu); /* never held across a process run */
  /* "running" first: the exit that the thaw may cause must not be overwritten by it */
  _cleanup_berr_ struct berth_error *e = NULL;
  if (store_container_set_status(d->store, id, "running", &e) < 0 || run_runtime(d, "resume", id, &e) < 0)
    log_warn("Unpause %.12s after a signal: %s", id, berr_msg(e));
  else events_emit(d, "container", "unpause", id, NULL);
  pthread_mutex_lock(&st->mu);
}

int h_ctr_resize(struct req *r, struct reply *out, struct berth_error **err) {
  unsigned h, w;
  int rc = exec_parse_size(r, &h, &w, err);
  if (rc < 0) return rc;
  _cleanup_store_container_ struct store_container *c = NULL;
  if ((rc = running_row(r->d, req_param(r, "id"), &c, err)) < 0) return rc;
  _cleanup_free_ char *dir = ctr_shim_dir(r->d, c->id);
  if ((rc = ctr_control_resize(dir, h, w, err)) < 0) return rc;
  char hs[16], ws[16];
  snprintf(hs, sizeof(hs), "%u", h);
  snprintf(ws, sizeof(ws), "%u", w);
  events_emit(r->d, "container", "resize", c->id, json_pack("{s:s, s:s}", "height", hs, "width", ws));
  return 0;
}

/* ---------- top ---------- */

/* procs_file: cgroup.procs of pid's cgroup: the v1 pids (or memory) hierarchy, else cgroup v2 */
static char *procs_file(pid_t pid) {
  _cleanup_free_ char *p = xasprintf("/proc/%d/cgroup", (int)pid);
  _cleanup_free_ char *text = NULL;
  if (read_file(p, &text, NULL, NULL) < 0) return NULL;
  char *unified = NULL;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(l, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *ctrls = c1 + 1, *path = c2 + 1;
    if (strcmp(ctrls, "pids") == 0 || strcmp(ctrls, "memory") == 0) {
      free(unified);
      return xasprintf("/sys/fs/cgroup/%s%s/cgroup.procs", ctrls, path);
    }
    if (!*ctrls && !unified) unified = xasprintf("/sys/fs/cgroup%s/cgroup.procs", path);
  }
  return unified;
}

static int container_pids(pid_t init, pid_t **pids, size_t *n, struct berth_error **err) {
  _cleanup_free_ char *file = procs_file(init);
  if (!file) return berr(err, ENOENT, "the cgroup of process %d is not known", (int)init);
  _cleanup_free_ char *text = NULL;
  int r = read_file(file, &text, NULL, err);
  if (r < 0) return r;
  *pids = NULL;
  *n = 0;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    *pids = xrealloc(*pids, (*n + 1) * sizeof(pid_t));
    (*pids)[(*n)++] = (pid_t)strtol(l, NULL, 10);
  }
  return 0;
}

static char **split_ws(char *s) {
  char **v = NULL;
  for (char *save = NULL, *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) v = strv_push(v, t);
  return v;
}

/* ctr_top_parse: Docker's parsePSOutput: the header gives Titles; a row is kept when its PID column
 * is one of pids; fields past the titles (a command's arguments) merge into the last one */
int ctr_top_parse(char *text, const pid_t *pids, size_t npids, json_t **out, struct berth_error **err) {
  char *save = NULL;
  char *head = strtok_r(text, "\n", &save);
  _cleanup_strv_ char **titles = head ? split_ws(head) : NULL;
  size_t nt = titles ? strv_len(titles) : 0;
  long pid_col = -1;
  for (size_t i = 0; i < nt; i++)
    if (strcmp(titles[i], "PID") == 0) pid_col = (long)i;
  if (pid_col < 0) return berr(err, EIO, "Couldn't find PID field in ps output");
  json_t *procs = json_array();
  for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    _cleanup_strv_ char **f = split_ws(l);
    size_t nf = f ? strv_len(f) : 0;
    if (nf <= (size_t)pid_col) continue;
    pid_t pid = (pid_t)strtol(f[pid_col], NULL, 10);
    bool mine = false;
    for (size_t i = 0; i < npids && !mine; i++) mine = pids[i] == pid;
    if (!mine) continue;
    json_t *row = json_array();
    struct buf last = {0};
    for (size_t i = 0; i < nf; i++) {
      if (i + 1 < nt) json_array_append_new(row, json_string(f[i]));
      else buf_printf(&last, "%s%s", last.len ? " " : "", f[i]);
    }
    json_array_append_new(row, json_string(last.p ? last.p : ""));
    buf_free(&last);
    json_array_append_new(procs, row);
  }
  json_t *t = json_array();
  for (size_t i = 0; i < nt; i++) json_array_append_new(t, json_string(titles[i]));
  *out = json_pack("{s:o, s:o}", "Titles", t, "Processes", procs);
  return 0;
}

int h_ctr_top(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = running_row(r->d, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  _cleanup_free_ pid_t *pids = NULL;
  size_t npids = 0;
  if ((rc = container_pids(c->pid, &pids, &npids, err)) < 0) return rc;
  const char *ps_args = req_query(r, "ps_args");
  _cleanup_free_ char *args = xstrdup(ps_args && *ps_args ? ps_args : "-ef");
  _cleanup_strv_ char **argv = strv_push(NULL, "ps");
  _cleanup_strv_ char **extra = split_ws(args);
  for (size_t i = 0; extra && extra[i]; i++) argv = strv_push(argv, extra[i]);
  _cleanup_free_ char *text = NULL;
  int status = 0;
  if ((rc = spawn_capture(argv, false, &text, &status, err)) < 0) return rc;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return berr(err, EIO, "Error running ps: exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return ctr_top_parse(text, pids, npids, &out->json, err);
}
