/* exec.c - exec instances: POST /containers/{id}/exec, GET /exec/{id}/json, POST /exec/{id}/resize;
 * the records live in memory only (Docker forgets them too); starting one is exec_start.c */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/exec_int.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* an ended exec stays inspectable this long (Docker's exec store keeps them about as long) */
#define EXEC_KEEP_NS (5 * 60 * INT64_C(1000000000))

struct exec_table *exec_table_new(void) {
  struct exec_table *t = xcalloc(1, sizeof(*t));
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cond, NULL);
  return t;
}

static void inst_free(struct exec_inst *e) {
  json_decref(e->cfg);
  free(e);
}

static bool any_held(struct exec_table *t) {
  for (struct exec_inst *e = t->list; e; e = e->next)
    if (e->refs) return true;
  return false;
}

void exec_table_free(struct exec_table *t) {
  if (!t) return;
  /* reapers and streams leave once the daemon stops; wait for them a little, and rather leak
   * the table than free it under one that is late */
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 2;
  pthread_mutex_lock(&t->mu);
  bool late = false;
  while (any_held(t) && !late) late = pthread_cond_timedwait(&t->cond, &t->mu, &dl) == ETIMEDOUT;
  late = any_held(t);
  pthread_mutex_unlock(&t->mu);
  if (late) return;
  for (struct exec_inst *e = t->list, *n; e; e = n) {
    n = e->next;
    inst_free(e);
  }
  pthread_cond_destroy(&t->cond);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

struct exec_inst *exec_get(struct exec_table *t, const char *id) {
  pthread_mutex_lock(&t->mu);
  struct exec_inst *e = t->list;
  while (e && strcmp(e->id, id) != 0) e = e->next;
  if (e) e->refs++;
  pthread_mutex_unlock(&t->mu);
  return e;
}

void exec_put(struct exec_table *t, struct exec_inst *e) {
  if (!e) return;
  pthread_mutex_lock(&t->mu);
  if (--e->refs == 0) pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->mu);
}

/* forget_old: drop instances that ended long ago and that nobody holds (t->mu held) */
static void forget_old(struct exec_table *t, int64_t now) {
  for (struct exec_inst **pp = &t->list; *pp;) {
    struct exec_inst *e = *pp;
    if (e->refs == 0 && !e->running && (e->has_exit || !e->started) && now - e->ended_ns > EXEC_KEEP_NS) {
      *pp = e->next;
      inst_free(e);
    } else {
      pp = &e->next;
    }
  }
}

char *exec_state_dir(struct daemon *d, const struct exec_inst *e) {
  _cleanup_free_ char *shim = ctr_shim_dir(d, e->ctr_id);
  return xasprintf("%s/exec-%s", shim, e->id);
}

json_t *exec_ids_json(struct daemon *d, const char *ctr_id) {
  if (!d->execs) return json_null();
  json_t *ids = json_array();
  pthread_mutex_lock(&d->execs->mu);
  for (struct exec_inst *e = d->execs->list; e; e = e->next)
    if (strcmp(e->ctr_id, ctr_id) == 0 && (e->running || !e->started)) json_array_append_new(ids, json_string(e->id));
  pthread_mutex_unlock(&d->execs->mu);
  if (json_array_size(ids)) return ids;
  json_decref(ids);
  return json_null(); /* Docker shows null, not [], for none */
}

int exec_parse_keys(const char *spec, unsigned char *keys, size_t max, size_t *n) {
  /* Docker's term.ToBytes: "ctrl-@", "ctrl-a".."ctrl-z", "ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_" or one character */
  static const char ctrl_tail[] = "@abcdefghijklmnopqrstuvwxyz[\\]^_";
  _cleanup_free_ char *copy = xstrdup(spec && *spec ? spec : "ctrl-p,ctrl-q");
  *n = 0;
  for (char *save = NULL, *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    if (*n == max) return -EINVAL;
    const char *t = strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6 ? strchr(ctrl_tail, k[5]) : NULL;
    if (t && k[5]) keys[(*n)++] = (unsigned char)(t - ctrl_tail);
    else if (strlen(k) == 1) keys[(*n)++] = (unsigned char)k[0];
    else return -EINVAL;
  }
  return *n ? 0 : -EINVAL;
}

/* check_config: what Docker refuses at create time */
static int check_config(const json_t *b, struct berth_error **err) {
  json_t *cmd = json_object_get(b, "Cmd");
  if (!json_is_array(cmd) || json_array_size(cmd) == 0) return berr(err, EINVAL, "No exec command specified");
  size_t i;
  json_t *v;
  json_array_foreach(cmd, i, v) if (!json_is_string(v)) return berr(err, EINVAL, "Cmd must be a list of strings");
  json_array_foreach(json_object_get(b, "Env"), i, v) if (!json_is_string(v)) return berr(err, EINVAL, "Env must be a list of strings");
  const char *wd = json_string_value(json_object_get(b, "WorkingDir"));
  if (wd && *wd && wd[0] != '/')
    return berr(err, EINVAL, "the working directory '%s' is invalid, it needs to be an absolute path", wd);
  const char *dk = json_string_value(json_object_get(b, "DetachKeys"));
  unsigned char keys[16];
  size_t n;
  if (dk && *dk && exec_parse_keys(dk, keys, sizeof(keys), &n) < 0)
    return berr(err, EINVAL, "Invalid escape keys (%s) provided", dk);
  return 0;
}

/* ctr_check_exec: the container must run and not be paused (Docker's 409s) */
static int ctr_check_exec(struct daemon *d, const struct store_container *c, struct berth_error **err) {
  struct ctr_state *st = ctr_state_get(d->ctrs, c->id);
  pthread_mutex_lock(&st->mu);
  bool running = st->running;
  pthread_mutex_unlock(&st->mu);
  ctr_state_put(d->ctrs, st);
  if (!running) return berr(err, EBUSY, "Container %s is not running", c->id);
  if (strcmp(c->status, "paused") == 0)
    return berr(err, EBUSY, "Container %s is paused, unpause the container before exec", c->id);
  return 0;
}

int h_exec_create(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *body = NULL;
  int rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  _cleanup_store_container_ struct store_container *c = NULL;
  if ((rc = store_container_find(r->d->store, req_param(r, "id"), &c, err)) < 0) return rc;
  if ((rc = ctr_check_exec(r->d, c, err)) < 0) return rc;
  if ((rc = check_config(body, err)) < 0) return rc;
  struct exec_inst *e = xcalloc(1, sizeof(*e));
  id_random(e->id);
  memcpy(e->ctr_id, c->id, sizeof(e->ctr_id));
  e->cfg = json_incref(body);
  e->exit_code = -1;
  pthread_mutex_lock(&r->d->execs->mu);
  e->ended_ns = time_now_ns(); /* never started: forgotten after a while too */
  forget_old(r->d->execs, e->ended_ns);
  e->next = r->d->execs->list;
  r->d->execs->list = e;
  pthread_mutex_unlock(&r->d->execs->mu);
  _cleanup_free_ char *action = exec_event_action("exec_create", body);
  events_emit(r->d, "container", action, c->id, json_pack("{s:s}", "execID", e->id));
  out->status = 201;
  out->json = json_pack("{s:s}", "Id", e->id);
  return 0;
}

char *exec_event_action(const char *what, const json_t *cfg) {
  struct buf b = {0};
  buf_printf(&b, "%s:", what);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "Cmd"), i, v) buf_printf(&b, " %s", json_string_value(v));
  return buf_steal(&b);
}

/* process_config: ProcessConfig as inspect shows it */
static json_t *process_config(const json_t *cfg) {
  json_t *cmd = json_object_get(cfg, "Cmd");
  json_t *args = json_array();
  for (size_t i = 1; i < json_array_size(cmd); i++) json_array_append(args, json_array_get(cmd, i));
  const char *user = json_string_value(json_object_get(cfg, "User"));
  return json_pack("{s:b, s:s, s:o, s:b, s:s}", "tty", json_is_true(json_object_get(cfg, "Tty")), "entrypoint",
                   json_string_value(json_array_get(cmd, 0)) ?: "", "arguments", args, "privileged",
                   json_is_true(json_object_get(cfg, "Privileged")), "user", user ? user : "");
}

int h_exec_inspect(struct req *r, struct reply *out, struct berth_error **err) {
  const char *id = req_param(r, "id");
  struct exec_inst *e = exec_get(r->d->execs, id);
  if (!e) return berr(err, ENOENT, "No such exec instance: %s", id);
  const json_t *cfg = e->cfg;
  const char *keys = json_string_value(json_object_get(cfg, "DetachKeys"));
  pthread_mutex_lock(&r->d->execs->mu);
  out->json = json_pack("{s:s, s:b, s:b, s:o, s:o, s:b, s:b, s:b, s:s, s:s, s:i}", "ID", e->id, "Running",
                        e->running, "CanRemove", false, "ExitCode",
                        e->has_exit ? json_integer(e->exit_code) : json_null(), "ProcessConfig", process_config(cfg),
                        "OpenStdin", json_is_true(json_object_get(cfg, "AttachStdin")), "OpenStderr",
                        json_is_true(json_object_get(cfg, "AttachStderr")), "OpenStdout",
                        json_is_true(json_object_get(cfg, "AttachStdout")), "ContainerID", e->ctr_id, "DetachKeys",
                        keys ? keys : "", "Pid", (int)e->pid);
  pthread_mutex_unlock(&r->d->execs->mu);
  exec_put(r->d->execs, e);
  return 0;
}

int exec_parse_size(struct req *r, unsigned *h, unsigned *w, struct berth_error **err) {
  const char *names[2] = {"h", "w"};
  unsigned *vals[2] = {h, w};
  for (int i = 0; i < 2; i++) {
    const char *v = req_query(r, names[i]);
    char *end;
    unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
    if (!v || !*v || *end || n > 0xffff)
      return berr(err, EINVAL, "invalid value for %s: \"%s\"", names[i][0] == 'h' ? "height" : "width", v ? v : "");
    *vals[i] = (unsigned)n;
  }
  return 0;
}

int ctr_control_resize(const char *dir, unsigned h, unsigned w, struct berth_error **err) {
  /* through /proc/self/fd: the socket's full path may exceed sun_path's 108 bytes */
  _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return berr_sys(err, errno, "open \"%s\"", dir);
  if (faccessat(dfd, "control", F_OK, 0) < 0) return 0; /* no terminal: nothing to size (as containerd) */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/control", dfd);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return berr_sys(err, errno, "socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) return berr_sys(err, errno, "connect to \"%s/control\"", dir);
  char msg[48];
  int n = snprintf(msg, sizeof(msg), "resize %u %u", h, w);
  if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) < 0) return berr_sys(err, errno, "resize through \"%s/control\"", dir);
  return 0;
}

int h_exec_resize(struct req *r, struct reply *out, struct berth_error **err) {
  unsigned h, w;
  int rc = exec_parse_size(r, &h, &w, err);
  if (rc < 0) return rc;
  const char *id = req_param(r, "id");
  struct exec_inst *e = exec_get(r->d->execs, id);
  if (!e) return berr(err, ENOENT, "No such exec instance: %s", id);
  /* a client resizes right after the 101 of start, maybe before the process runs: wait for it
   * a while, as Docker does */
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  pthread_mutex_lock(&r->d->execs->mu);
  while (e->started && !e->running && !e->has_exit && !r->d->stopping)
    if (pthread_cond_timedwait(&r->d->execs->cond, &r->d->execs->mu, &dl) == ETIMEDOUT) break;
  bool running = e->running;
  pthread_mutex_unlock(&r->d->execs->mu);
  _cleanup_free_ char *dir = exec_state_dir(r->d, e);
  if (!running) rc = berr(err, EBUSY, "Exec %s is not running", e->id);
  else rc = ctr_control_resize(dir, h, w, err);
  exec_put(r->d->execs, e);
  if (rc == 0) out->status = 201;
  return rc;
}
