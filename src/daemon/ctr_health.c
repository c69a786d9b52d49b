/* ctr_health.c - health checks: Docker's HEALTHCHECK rules as pure functions, and one scheduler
 * thread for every container: a list of due times kept sorted, an epoll over the probes in flight
 * (each a berth-shim in exec mode, docs/internals.md), results into State.Health (saved as
 * D/containers/ID/health.json so they outlive berthd) and "health_status: ..." events */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/syscalls.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define NS INT64_C(1000000000)
#define BUCKETS 256
#define HEALTH_FILE "health.json"
#define PACKET_MAX (64 * 1024 + 1)
/* a probe whose result is recorded (timeout, failure) gets this long to go before its shim is killed */
#define REAP_GRACE_NS (5 * NS)
/* the shim's answers to created/start come fast; a stuck one counts against the probe's timeout */
#define MAX_WAIT_MS 60000

/* ---------- pure: configuration ---------- */

static const char *const duration_keys[] = {"Interval", "Timeout", "StartPeriod"};

int health_config_check(const json_t *hc, struct berth_error **err) {
  if (!hc || json_is_null(hc)) return 0;
  if (!json_is_object(hc)) return berr(err, EINVAL, "invalid JSON: Healthcheck must be an object");
  json_t *test = json_object_get(hc, "Test"), *v;
  size_t i;
  if (test && !json_is_null(test) && !json_is_array(test))
    return berr(err, EINVAL, "invalid JSON: Healthcheck.Test must be a list of strings");
  json_array_foreach(test, i, v) if (!json_is_string(v))
    return berr(err, EINVAL, "invalid JSON: Healthcheck.Test must be a list of strings");
  for (i = 0; i < ARRAY_SIZE(duration_keys); i++) {
    v = json_object_get(hc, duration_keys[i]);
    if (v && !json_is_null(v) && !json_is_integer(v))
      return berr(err, EINVAL, "invalid JSON: Healthcheck.%s must be a number of nanoseconds", duration_keys[i]);
    json_int_t n = json_integer_value(v);
    if (n != 0 && n < HEALTH_MIN_DURATION_NS)
      return berr(err, EINVAL, "%s in Healthcheck cannot be less than 1ms", duration_keys[i]);
  }
  v = json_object_get(hc, "Retries");
  if (v && !json_is_null(v) && !json_is_integer(v))
    return berr(err, EINVAL, "invalid JSON: Healthcheck.Retries must be an integer");
  if (json_integer_value(v) < 0) return berr(err, EINVAL, "Retries in Healthcheck cannot be negative");
  return 0;
}

json_t *health_config_merge(const json_t *user, const json_t *image) {
  if (!json_is_object(user) && !json_is_object(image)) return NULL;
  /* Docker's HealthConfig: its fields in order, each omitted when empty */
  json_t *out = json_object();
  json_t *test = json_object_get(user, "Test");
  if (json_array_size(test) == 0) test = json_object_get(image, "Test");
  if (json_array_size(test) > 0) json_object_set_new(out, "Test", json_deep_copy(test));
  static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
  for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
    json_t *v = json_object_get(user, nums[i]);
    if (json_integer_value(v) == 0) v = json_object_get(image, nums[i]);
    if (json_integer_value(v) != 0) json_object_set_new(out, nums[i], json_integer(json_integer_value(v)));
  }
  return out;
}

static int64_t positive_or(const json_t *hc, const char *key, int64_t def) {
  json_int_t v = json_integer_value(json_object_get(hc, key));
  return v > 0 ? (int64_t)v : def;
}

void health_config_parse(const json_t *hc, struct health_config *out) {
  *out = (struct health_config){0};
  json_t *test = json_object_get(hc, "Test");
  const char *kind = json_string_value(json_array_get(test, 0));
  size_t n = json_array_size(test);
  if (!kind || n < 2) return; /* none, ["NONE"], or nothing to run */
  /* CMD-SHELL runs its words through the shell (moby: getShell + Test[1:]); CMD execs them */
  if (strcmp(kind, "CMD-SHELL") == 0) out->argv = strv_push(strv_push(NULL, "/bin/sh"), "-c");
  else if (strcmp(kind, "CMD") != 0) return;
  for (size_t i = 1; i < n; i++) out->argv = strv_push(out->argv, json_string_value(json_array_get(test, i)) ?: "");
  out->interval_ns = positive_or(hc, "Interval", HEALTH_DEFAULT_INTERVAL_NS);
  out->timeout_ns = positive_or(hc, "Timeout", HEALTH_DEFAULT_TIMEOUT_NS);
  out->start_period_ns = positive_or(hc, "StartPeriod", 0);
  out->retries = (int)positive_or(hc, "Retries", HEALTH_DEFAULT_RETRIES);
}

void health_config_clear(struct health_config *c) {
  strv_free(c->argv);
  *c = (struct health_config){0};
}

/* ---------- pure: the state machine (moby daemon/health.go handleProbeResult) ---------- */

bool health_apply(struct health_state *s, const struct health_config *c, int64_t started_ns,
                  struct health_result *r) {
  enum health_status old = s->status;
  if (s->status == HEALTH_NONE) s->status = HEALTH_STARTING;
  if (s->nlog == HEALTH_LOG_MAX) {
    free(s->log[0].output);
    memmove(s->log, s->log + 1, sizeof(s->log[0]) * (HEALTH_LOG_MAX - 1));
    s->nlog--;
  }
  s->log[s->nlog++] = *r;
  r->output = NULL;
  if (r->exit_code == 0) {
    s->failing_streak = 0;
    s->status = HEALTH_HEALTHY;
  } else {
    /* failures while starting and within the start period do not count */
    bool counts = !(s->status == HEALTH_STARTING && r->start_ns - started_ns < c->start_period_ns);
    int retries = c->retries > 0 ? c->retries : HEALTH_DEFAULT_RETRIES;
    if (counts && ++s->failing_streak >= retries) s->status = HEALTH_UNHEALTHY;
  }
  return s->status != old;
}

void health_state_clear(struct health_state *s) {
  for (int i = 0; i < s->nlog; i++) free(s->log[i].output);
  *s = (struct health_state){0};
}

static const char *const status_names[] = {
    [HEALTH_NONE] = "none", [HEALTH_STARTING] = "starting", [HEALTH_HEALTHY] = "healthy",
    [HEALTH_UNHEALTHY] = "unhealthy"};

const char *health_status_name(enum health_status st) {
  return (size_t)st < ARRAY_SIZE(status_names) ? status_names[st] : "none";
}

static void format_ns(int64_t ns, char *buf, size_t size) {
  struct timespec ts = {ns / NS, ns % NS};
  time_format_rfc3339nano(&ts, buf, size);
}

static int64_t parse_ns(const char *s) {
  struct timespec ts;
  if (!s || time_parse_rfc3339(s, &ts) < 0) return 0;
  return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

json_t *health_state_json(const struct health_state *s) {
  json_t *log = json_array();
  for (int i = 0; i < s->nlog; i++) {
    char a[64], b[64];
    format_ns(s->log[i].start_ns, a, sizeof(a));
    format_ns(s->log[i].end_ns, b, sizeof(b));
    json_array_append_new(log, json_pack("{s:s, s:s, s:i, s:s}", "Start", a, "End", b, "ExitCode",
                                         s->log[i].exit_code, "Output", s->log[i].output ?: ""));
  }
  return json_pack("{s:s, s:i, s:o}", "Status", health_status_name(s->status), "FailingStreak", s->failing_streak,
                   "Log", log);
}

void health_state_load(const json_t *j, struct health_state *s) {
  health_state_clear(s);
  const char *st = json_string_value(json_object_get(j, "Status"));
  for (size_t i = 0; st && i < ARRAY_SIZE(status_names); i++)
    if (strcmp(st, status_names[i]) == 0) s->status = (enum health_status)i;
  s->failing_streak = (int)json_integer_value(json_object_get(j, "FailingStreak"));
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(j, "Log"), i, v) {
    if (s->nlog == HEALTH_LOG_MAX) break;
    const char *out = json_string_value(json_object_get(v, "Output"));
    s->log[s->nlog++] = (struct health_result){parse_ns(json_string_value(json_object_get(v, "Start"))),
                                               parse_ns(json_string_value(json_object_get(v, "End"))),
                                               (int)json_integer_value(json_object_get(v, "ExitCode")),
                                               xstrdup(out ? out : "")};
  }
}

/* frac: ".5" for 500 of 1000 (digits wide, trailing zeros dropped), "" for 0 */
static void frac(char *out, size_t size, uint64_t v, int digits) {
  char d[16];
  snprintf(d, sizeof(d), "%0*llu", digits, (unsigned long long)v);
  int n = digits;
  while (n > 0 && d[n - 1] == '0') n--;
  if (n == 0) snprintf(out, size, "%s", "");
  else snprintf(out, size, ".%.*s", n, d);
}

void health_go_duration(int64_t ns, char *buf, size_t size) {
  if (ns == 0) {
    snprintf(buf, size, "0s");
    return;
  }
  const char *sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
  char f[16];
  if (u < 1000) {
    snprintf(buf, size, "%s%lluns", sign, (unsigned long long)u);
  } else if (u < (uint64_t)NS) {
    bool micro = u < 1000000;
    uint64_t div = micro ? 1000 : 1000000;
    frac(f, sizeof(f), u % div, micro ? 3 : 6);
    snprintf(buf, size, "%s%llu%s%s", sign, (unsigned long long)(u / div), f, micro ? "µs" : "ms");
  } else {
    uint64_t h = u / (3600 * (uint64_t)NS), m = u / (60 * (uint64_t)NS) % 60, s = u / (uint64_t)NS % 60;
    frac(f, sizeof(f), u % (uint64_t)NS, 9);
    char hs[32] = "", ms[32] = "";
    if (h) snprintf(hs, sizeof(hs), "%lluh", (unsigned long long)h);
    if (h || m) snprintf(ms, sizeof(ms), "%llum", (unsigned long long)m);
    snprintf(buf, size, "%s%s%s%llu%ss", sign, hs, ms, (unsigned long long)s, f);
  }
}

/* ---------- the daemon side: table and schedule ---------- */

struct hentry {
  struct hentry *next;  /* bucket chain */
  struct hentry *snext; /* schedule, sorted by due time */
  char id[65];
  bool active;          /* the container runs: probes are scheduled */
  bool scheduled;
  bool restored;        /* state loaded at startup: an adopted container keeps it */
  uint64_t gen;         /* bumped at every start and stop: a probe of an older run is ignored */
  int64_t due_ns;       /* monotonic */
  int64_t started_ns;   /* wall: the container's StartedAt, for the start period */
  struct health_config cfg;
  struct health_state st;
  char *process;        /* the probe's OCI process (JSON text), made at the first probe of a run */
};

enum watch_kind { W_SYNC, W_ATTACH, W_PID, W_COUNT };
struct probe;
struct watch {
  struct probe *p;
  enum watch_kind kind;
};

enum probe_phase { P_CREATING, P_STARTING, P_RUNNING };

struct probe {
  struct probe *next;
  char id[65];
  char eid[65];
  uint64_t gen;
  enum probe_phase phase;
  bool done;          /* its result is recorded: only the shim's end is awaited */
  bool gone;          /* the shim is reaped: free it */
  pid_t shim_pid;
  int pidfd, sync, attach;
  pid_t pid;          /* the probe's process, once running */
  int64_t start_ns;   /* wall */
  int64_t deadline;   /* monotonic: the timeout, then the reaping grace */
  int64_t timeout_ns;
  char *dir;          /* E/shims/ID/exec-EID */
  char *action;       /* "exec_start: /bin/sh -c ..." */
  struct buf out;
  struct watch w[W_COUNT];
};

struct health {
  pthread_mutex_t mu; /* guards the table and the schedule; probes belong to the thread alone */
  struct hentry *b[BUCKETS];
  struct hentry *sched;
  struct probe *probes;
  int epfd;
  int wake_fd;
  pthread_t thread;
  bool started;
  char wake_mark; /* epoll tag of wake_fd (stop_efd is tagged NULL) */
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static unsigned bucket(const char *id) {
  unsigned h = 2166136261u;
  for (; *id; id++) h = (h ^ (unsigned char)*id) * 16777619u;
  return h % BUCKETS;
}

static struct hentry *find_locked(struct health *h, const char *id) {
  struct hentry *e = h->b[bucket(id)];
  while (e && strcmp(e->id, id) != 0) e = e->next;
  return e;
}

static struct hentry *get_locked(struct health *h, const char *id) {
  struct hentry *e = find_locked(h, id);
  if (e) return e;
  e = xcalloc(1, sizeof(*e));
  snprintf(e->id, sizeof(e->id), "%s", id);
  unsigned b = bucket(id);
  e->next = h->b[b];
  h->b[b] = e;
  return e;
}

static void unschedule_locked(struct health *h, struct hentry *e) {
  if (!e->scheduled) return;
  for (struct hentry **pp = &h->sched; *pp; pp = &(*pp)->snext) {
    if (*pp == e) {
      *pp = e->snext;
      break;
    }
  }
  e->scheduled = false;
}

static void schedule_locked(struct health *h, struct hentry *e, int64_t due) {
  unschedule_locked(h, e);
  e->due_ns = due;
  struct hentry **pp = &h->sched;
  while (*pp && (*pp)->due_ns <= due) pp = &(*pp)->snext;
  e->snext = *pp;
  *pp = e;
  e->scheduled = true;
}

static void entry_free(struct hentry *e) {
  health_config_clear(&e->cfg);
  health_state_clear(&e->st);
  free(e->process);
  free(e);
}

static void wake(struct health *h) {
  uint64_t one = 1;
  (void)!write(h->wake_fd, &one, sizeof(one));
}

static char *health_file(struct daemon *d, const char *id) {
  _cleanup_free_ char *dir = ctr_dir(d, id);
  return path_join(dir, HEALTH_FILE);
}

/* save: State.Health to disk (the container may be gone meanwhile: then nothing is written) */
static void save(struct daemon *d, const char *id, json_t *snap) {
  _cleanup_free_ char *path = health_file(d, id);
  _cleanup_free_ char *text = json_dumps(snap, JSON_COMPACT);
  _cleanup_berr_ struct berth_error *err = NULL;
  if (text && write_file_atomic(path, text, strlen(text), 0600, 0, &err) < 0)
    log_debug("Container %.12s: save its health: %s", id, berr_msg(err));
}

/* config_of: the container's health check from its Config (argv NULL: none) */
static int config_of(const struct store_container *c, struct health_config *out) {
  _cleanup_json_ json_t *cfg = json_loads(c->config_json, 0, NULL);
  json_t *hc = json_object_get(cfg, "Healthcheck"), *shell = json_object_get(cfg, "Shell");
  health_config_parse(hc, out);
  const char *kind = json_string_value(json_array_get(json_object_get(hc, "Test"), 0));
  if (out->argv && kind && strcmp(kind, "CMD-SHELL") == 0 && json_array_size(shell) > 0) {
    /* the image's SHELL runs CMD-SHELL checks (moby getShell) instead of /bin/sh -c */
    char **argv = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(shell, i, v) argv = strv_push(argv, json_string_value(v) ?: "");
    for (i = 2; out->argv[i]; i++) argv = strv_push(argv, out->argv[i]);
    strv_free(out->argv);
    out->argv = argv;
  }
  return out->argv ? 0 : -ENOENT;
}

void health_restore(struct daemon *d, const struct store_container *c) {
  struct health *h = d->health;
  struct health_config cfg;
  if (!h || config_of(c, &cfg) < 0) return;
  _cleanup_free_ char *path = health_file(d, c->id);
  _cleanup_json_ json_t *j = json_load_file(path, 0, NULL);
  if (!j) {
    health_config_clear(&cfg);
    return;
  }
  pthread_mutex_lock(&h->mu);
  struct hentry *e = get_locked(h, c->id);
  health_config_clear(&e->cfg);
  e->cfg = cfg;
  health_state_load(j, &e->st);
  e->restored = true;
  e->started_ns = parse_ns(c->started_at);
  pthread_mutex_unlock(&h->mu);
}

void health_ctr_started(struct daemon *d, const char *id) {
  struct health *h = d->health;
  _cleanup_store_container_ struct store_container *c = NULL;
  struct health_config cfg;
  if (!h || store_container_get(d->store, id, &c, NULL) < 0 || config_of(c, &cfg) < 0) return;
  pthread_mutex_lock(&h->mu);
  struct hentry *e = get_locked(h, id);
  health_config_clear(&e->cfg);
  e->cfg = cfg;
  if (!e->restored || e->st.status == HEALTH_NONE) {
    /* Docker: every start begins "starting" with no failures; the log stays */
    e->st.status = HEALTH_STARTING;
    e->st.failing_streak = 0;
  }
  e->restored = false;
  e->gen++;
  e->active = true;
  e->started_ns = parse_ns(c->started_at);
  if (!e->started_ns) e->started_ns = time_now_ns();
  free(e->process);
  e->process = NULL;
  schedule_locked(h, e, mono_ns() + e->cfg.interval_ns);
  pthread_mutex_unlock(&h->mu);
  wake(h);
}

void health_ctr_stopped(struct daemon *d, const char *id) {
  struct health *h = d->health;
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  struct hentry *e = find_locked(h, id);
  if (e) {
    e->active = false;
    e->gen++;
    unschedule_locked(h, e);
  }
  pthread_mutex_unlock(&h->mu);
}

void health_forget(struct daemon *d, const char *id) {
  struct health *h = d->health;
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  struct hentry *victim = NULL;
  for (struct hentry **pp = &h->b[bucket(id)]; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->id, id) == 0) {
      victim = *pp;
      *pp = victim->next;
      unschedule_locked(h, victim);
      break;
    }
  }
  pthread_mutex_unlock(&h->mu);
  if (victim) entry_free(victim);
}

json_t *health_inspect_json(struct daemon *d, const char *id) {
  struct health *h = d->health;
  if (!h) return NULL;
  pthread_mutex_lock(&h->mu);
  struct hentry *e = find_locked(h, id);
  json_t *j = e && e->st.status != HEALTH_NONE ? health_state_json(&e->st) : NULL;
  pthread_mutex_unlock(&h->mu);
  return j;
}

enum health_status health_status_of(struct daemon *d, const char *id) {
  struct health *h = d->health;
  if (!h) return HEALTH_NONE;
  pthread_mutex_lock(&h->mu);
  struct hentry *e = find_locked(h, id);
  enum health_status st = e ? e->st.status : HEALTH_NONE;
  pthread_mutex_unlock(&h->mu);
  return st;
}

/* ---------- probes ---------- */

/* probe_record: the result of p into its container's state (once per probe) */
static void probe_record(struct daemon *d, struct probe *p, int code, const char *output) {
  struct health *h = d->health;
  p->done = true;
  struct health_result r = {p->start_ns, time_now_ns(), code, xstrndup(output, HEALTH_OUTPUT_MAX)};
  pthread_mutex_lock(&h->mu);
  struct hentry *e = find_locked(h, p->id);
  if (!e || e->gen != p->gen || !e->active) { /* stopped meanwhile: Docker drops such results too */
    pthread_mutex_unlock(&h->mu);
    free(r.output);
    return;
  }
  int streak = e->st.failing_streak;
  bool changed = health_apply(&e->st, &e->cfg, e->started_ns, &r);
  enum health_status st = e->st.status;
  schedule_locked(h, e, mono_ns() + e->cfg.interval_ns); /* the next one an interval after this end */
  /* on disk when the status or the streak moves (not every probe: each save is an fsync) */
  _cleanup_json_ json_t *snap = changed || streak != e->st.failing_streak ? health_state_json(&e->st) : NULL;
  pthread_mutex_unlock(&h->mu);
  if (snap) save(d, p->id, snap);
  if (changed) {
    _cleanup_free_ char *action = xasprintf("health_status: %s", health_status_name(st));
    events_emit(d, "container", action, p->id, NULL);
  }
}

static void watch_add(struct health *h, struct probe *p, enum watch_kind k, int fd) {
  p->w[k] = (struct watch){p, k};
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->w[k]};
  if (fd >= 0 && epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) log_warn("Health probe: epoll_ctl: %s", strerror(errno));
}

static void close_watched(struct health *h, int *fd) {
  if (*fd < 0) return;
  epoll_ctl(h->epfd, EPOLL_CTL_DEL, *fd, NULL);
  close(*fd);
  *fd = -1;
}

static void probe_free(struct health *h, struct probe *p) {
  close_watched(h, &p->sync);
  close_watched(h, &p->attach);
  close_watched(h, &p->pidfd);
  if (p->dir) rm_rf(p->dir, NULL);
  free(p->dir);
  free(p->action);
  buf_free(&p->out);
  free(p);
}

/* make_process: the container's OCI process running argv instead (no terminal) */
static char *make_process(struct daemon *d, const char *id, char **argv, struct berth_error **err) {
  _cleanup_free_ char *dir = ctr_dir(d, id);
  _cleanup_free_ char *path = path_join(dir, "config.json");
  json_error_t jerr;
  _cleanup_json_ json_t *spec = json_load_file(path, 0, &jerr);
  if (!spec) {
    berr(err, EIO, "load \"%s\": %s", path, jerr.text);
    return NULL;
  }
  json_t *proc = json_object_get(spec, "process");
  if (!json_is_object(proc)) {
    berr(err, EIO, "\"%s\" has no process", path);
    return NULL;
  }
  json_t *args = json_array();
  for (size_t i = 0; argv[i]; i++) json_array_append_new(args, json_string(argv[i]));
  json_object_set_new(proc, "args", args);
  json_object_set_new(proc, "terminal", json_false());
  json_object_del(proc, "consoleSize");
  return json_dumps(proc, JSON_COMPACT);
}

static int probe_spawn(struct daemon *d, struct probe *p, const char *process, struct berth_error **err) {
  _cleanup_free_ char *shim = ctr_shim_dir(d, p->id);
  p->dir = xasprintf("%s/exec-%s", shim, p->eid);
  _cleanup_free_ char *file = path_join(p->dir, "process.json");
  int r = mkdir_p(p->dir, 0700, err);
  if (r == 0) r = write_file_atomic(file, process, strlen(process), 0600, 0, err);
  if (r < 0) return r;
  _cleanup_free_ char *rroot = path_join(d->cfg.exec_root, "runtime");
  _cleanup_free_ char *bundle = ctr_dir(d, p->id);
  char *argv[] = {d->cfg.shim_path, "--id", p->id, "--bundle", bundle, "--state-dir", p->dir, "--runtime",
                  (char *)ctr_runtime_of(d, p->id), "--runtime-root", rroot, "--log-driver", "none", "--exec-id", p->eid,
                  "--process", file, NULL};
  return shim_spawn(argv, &p->shim_pid, &p->pidfd, &p->sync, err);
}

static char **argv_copy(char *const *v) {
  char **out = NULL;
  for (size_t i = 0; v && v[i]; i++) out = strv_push(out, v[i]);
  return out;
}

static char *argv_join(char *const *v) {
  struct buf b = {0};
  for (size_t i = 0; v && v[i]; i++) buf_printf(&b, "%s%s", i ? " " : "", v[i]);
  return b.p ? buf_steal(&b) : xstrdup("");
}

/* plan: what the scheduler takes from an entry under the lock to start its probe */
struct plan {
  char id[65];
  uint64_t gen;
  char **argv;
  char *process;
  int64_t timeout_ns;
  int64_t interval_ns;
};

/* ctr_probe_ready: the container runs and is not paused (a paused one is skipped, not failed) */
static int ctr_probe_ready(struct daemon *d, const char *id) {
  _cleanup_store_container_ struct store_container *c = NULL;
  if (store_container_get(d->store, id, &c, NULL) < 0) return -ENOENT;
  if (strcmp(c->status, "paused") == 0) return -EAGAIN;
  return strcmp(c->status, "running") == 0 ? 0 : -ENOENT;
}

static void keep_process(struct health *h, const struct plan *pl, char *process) {
  pthread_mutex_lock(&h->mu);
  struct hentry *e = find_locked(h, pl->id);
  if (e && e->gen == pl->gen && !e->process) e->process = xstrdup(process);
  pthread_mutex_unlock(&h->mu);
}

static void reschedule(struct health *h, const struct plan *pl) {
  pthread_mutex_lock(&h->mu);
  struct hentry *e = find_locked(h, pl->id);
  if (e && e->gen == pl->gen && e->active) schedule_locked(h, e, mono_ns() + pl->interval_ns);
  pthread_mutex_unlock(&h->mu);
}

static void probe_begin(struct daemon *d, struct plan *pl) {
  struct health *h = d->health;
  int ready = ctr_probe_ready(d, pl->id);
  if (ready == -EAGAIN) reschedule(h, pl);
  if (ready < 0) return;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (!pl->process && (pl->process = make_process(d, pl->id, pl->argv, &err))) keep_process(h, pl, pl->process);
  struct probe *p = xcalloc(1, sizeof(*p));
  memcpy(p->id, pl->id, sizeof(p->id));
  id_random(p->eid);
  p->gen = pl->gen;
  p->pidfd = p->sync = p->attach = -1;
  p->start_ns = time_now_ns();
  p->timeout_ns = pl->timeout_ns;
  p->deadline = mono_ns() + pl->timeout_ns;
  _cleanup_free_ char *cmd = argv_join(pl->argv);
  _cleanup_free_ char *created = xasprintf("exec_create: %s", cmd);
  p->action = xasprintf("exec_start: %s", cmd);
  p->next = h->probes;
  h->probes = p;
  /* a probe is an exec to Docker too: exec_create, exec_start, exec_die events */
  events_emit(d, "container", created, p->id, json_pack("{s:s}", "execID", p->eid));
  if (!pl->process || probe_spawn(d, p, pl->process, &err) < 0) {
    log_warn("Health check for container %.12s error: %s", p->id, berr_msg(err));
    probe_record(d, p, -1, berr_msg(err));
    p->gone = p->shim_pid <= 0;
    if (!p->gone && p->pidfd >= 0) sys_pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
  }
  watch_add(h, p, W_SYNC, p->sync);
  watch_add(h, p, W_PID, p->pidfd);
}

static void fire_due(struct daemon *d) {
  struct health *h = d->health;
  for (;;) {
    struct plan pl = {0};
    pthread_mutex_lock(&h->mu);
    struct hentry *e = h->sched;
    bool due = e && e->due_ns <= mono_ns();
    if (due) {
      h->sched = e->snext;
      e->scheduled = false;
      memcpy(pl.id, e->id, sizeof(pl.id));
      pl.gen = e->gen;
      pl.argv = argv_copy(e->cfg.argv);
      pl.process = e->process ? xstrdup(e->process) : NULL;
      pl.timeout_ns = e->cfg.timeout_ns;
      pl.interval_ns = e->cfg.interval_ns;
    }
    pthread_mutex_unlock(&h->mu);
    if (!due) return;
    probe_begin(d, &pl);
    strv_free(pl.argv);
    free(pl.process);
  }
}

/* on_sync: the exec shim's created / started / error */
static void on_sync(struct daemon *d, struct probe *p) {
  struct health *h = d->health;
  char msg[4096];
  ssize_t n;
  do n = recv(p->sync, msg, sizeof(msg) - 1, 0);
  while (n < 0 && errno == EINTR);
  msg[n > 0 ? n : 0] = '\0';
  _cleanup_berr_ struct berth_error *err = NULL;
  if (p->phase == P_CREATING && strncmp(msg, "created", 7) == 0) {
    p->attach = ctr_attach_connect(p->dir, &err);
    if (p->attach >= 0) watch_add(h, p, W_ATTACH, p->attach);
    if (p->attach >= 0 && send(p->sync, "start", 5, MSG_NOSIGNAL) == 5) {
      p->phase = P_STARTING;
      return;
    }
  } else if (p->phase == P_STARTING && strncmp(msg, "started", 7) == 0) {
    p->phase = P_RUNNING;
    close_watched(h, &p->sync);
    _cleanup_free_ char *pidf = path_join(p->dir, "init.pid");
    _cleanup_free_ char *t = NULL;
    if (read_file(pidf, &t, NULL, NULL) == 0) p->pid = (pid_t)strtol(t, NULL, 10);
    events_emit(d, "container", p->action, p->id, json_pack("{s:s}", "execID", p->eid));
    return;
  }
  /* the probe could not run: Docker records the error as the output of a failed probe (-1) */
  const char *why = strncmp(msg, "error ", 6) == 0 ? msg + 6 : n <= 0 ? "the exec shim exited" : msg;
  if (err) why = berr_msg(err);
  _cleanup_free_ char *out = xasprintf("OCI runtime exec failed: %s", why);
  close_watched(h, &p->sync); /* before "start" this also tells the shim to give up */
  if (!p->done) probe_record(d, p, -1, out);
  p->deadline = mono_ns() + REAP_GRACE_NS;
}

static void on_attach(struct health *h, struct probe *p, int flags) {
  _cleanup_free_ char *pkt = xmalloc(PACKET_MAX);
  for (;;) {
    ssize_t n = recv(p->attach, pkt, PACKET_MAX, flags);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_watched(h, &p->attach);
      return;
    }
    size_t room = p->out.len < HEALTH_OUTPUT_MAX ? HEALTH_OUTPUT_MAX - p->out.len : 0;
    size_t len = (size_t)n - 1 < room ? (size_t)n - 1 : room;
    if (len) buf_append(&p->out, pkt + 1, len);
    if (!(flags & MSG_DONTWAIT)) return; /* one packet per wakeup; the rest at the next */
  }
}

static int read_exit(const char *dir) {
  _cleanup_free_ char *p = path_join(dir, "exit");
  _cleanup_free_ char *t = NULL;
  int code;
  if (read_file(p, &t, NULL, NULL) < 0 || sscanf(t, "%d", &code) != 1) return -1;
  return code;
}

/* on_exit: the exec shim is gone: reap it, take the rest of the output and the exit code */
static void on_shim_exit(struct daemon *d, struct probe *p) {
  struct health *h = d->health;
  siginfo_t si;
  while (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED) < 0 && errno == EINTR) {
  }
  if (p->attach >= 0) on_attach(h, p, MSG_DONTWAIT);
  int code = read_exit(p->dir);
  if (p->phase == P_RUNNING) {
    char codes[16];
    snprintf(codes, sizeof(codes), "%d", code);
    events_emit(d, "container", "exec_die", p->id, json_pack("{s:s, s:s}", "execID", p->eid, "exitCode", codes));
  }
  if (!p->done) probe_record(d, p, p->phase == P_RUNNING ? code : -1, p->out.p ? p->out.p : "");
  p->gone = true;
}

/* check_deadlines: a probe past its timeout is killed and fails (-1); a shim slow to go after
 * its result is killed */
static void check_deadlines(struct daemon *d) {
  int64_t now = mono_ns();
  for (struct probe *p = d->health->probes; p; p = p->next) {
    if (p->gone || now < p->deadline) continue;
    if (p->done) {
      if (p->pidfd >= 0) sys_pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
      p->deadline = now + REAP_GRACE_NS;
      continue;
    }
    int pfd = p->pid > 0 ? sys_pidfd_open(p->pid, 0) : -1;
    if (pfd >= 0) {
      sys_pidfd_send_signal(pfd, SIGKILL, NULL, 0);
      close(pfd);
    } else if (p->pidfd >= 0) {
      sys_pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
    }
    char dur[32];
    health_go_duration(p->timeout_ns, dur, sizeof(dur));
    _cleanup_free_ char *msg = xasprintf("Health check exceeded timeout (%s)", dur);
    probe_record(d, p, -1, msg);
    p->deadline = now + REAP_GRACE_NS;
  }
}

static void free_gone(struct health *h) {
  for (struct probe **pp = &h->probes; *pp;) {
    struct probe *p = *pp;
    if (p->gone) {
      *pp = p->next;
      probe_free(h, p);
    } else {
      pp = &p->next;
    }
  }
}

static int next_timeout_ms(struct health *h) {
  int64_t now = mono_ns(), next = now + (int64_t)MAX_WAIT_MS * 1000000;
  pthread_mutex_lock(&h->mu);
  if (h->sched && h->sched->due_ns < next) next = h->sched->due_ns;
  pthread_mutex_unlock(&h->mu);
  for (struct probe *p = h->probes; p; p = p->next)
    if (!p->gone && p->deadline < next) next = p->deadline;
  int64_t ms = (next - now + 999999) / 1000000;
  return ms < 0 ? 0 : (int)ms;
}

static void on_event(struct daemon *d, struct watch *w) {
  struct probe *p = w->p;
  if (p->gone) return;
  if (w->kind == W_SYNC && p->sync >= 0) on_sync(d, p);
  else if (w->kind == W_ATTACH && p->attach >= 0) on_attach(d->health, p, 0);
  else if (w->kind == W_PID && p->pidfd >= 0) on_shim_exit(d, p);
}

static void *health_main(void *arg) {
  struct daemon *d = arg;
  struct health *h = d->health;
  struct epoll_event evs[32];
  while (!d->stopping) {
    int n = epoll_wait(h->epfd, evs, 32, next_timeout_ms(h));
    if (n < 0 && errno != EINTR) {
      log_error("Health checks: epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      void *tag = evs[i].data.ptr;
      if (!tag) break; /* the daemon stops */
      if (tag == &h->wake_mark) {
        uint64_t v;
        (void)!read(h->wake_fd, &v, sizeof(v));
        continue;
      }
      on_event(d, tag);
    }
    free_gone(h);
    if (d->stopping) break;
    fire_due(d);
    check_deadlines(d);
    free_gone(h);
  }
  return NULL;
}

int health_open(struct daemon *d, struct berth_error **err) {
  struct health *h = xcalloc(1, sizeof(*h));
  pthread_mutex_init(&h->mu, NULL);
  h->wake_fd = -1;
  d->health = h;
  h->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (h->epfd < 0) return berr_sys(err, errno, "epoll_create1");
  h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (h->wake_fd < 0) return berr_sys(err, errno, "eventfd");
  struct epoll_event stop = {.events = EPOLLIN, .data.ptr = NULL};
  struct epoll_event wk = {.events = EPOLLIN, .data.ptr = &h->wake_mark};
  if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, d->stop_efd, &stop) < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wake_fd, &wk) < 0)
    return berr_sys(err, errno, "epoll_ctl");
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 256 * 1024);
  int rc = pthread_create(&h->thread, &at, health_main, d);
  pthread_attr_destroy(&at);
  if (rc != 0) return berr_sys(err, rc, "start the health check thread");
  h->started = true;
  return 0;
}

void health_close(struct daemon *d) {
  struct health *h = d->health;
  if (!h) return;
  if (h->started) pthread_join(h->thread, NULL);
  /* probes in flight end on their own, like execs when berthd stops */
  for (struct probe *p = h->probes, *n; p; p = n) {
    n = p->next;
    free(p->dir); /* their state directories stay until the container's shim directory goes */
    p->dir = NULL;
    probe_free(h, p);
  }
  for (int i = 0; i < BUCKETS; i++) {
    for (struct hentry *e = h->b[i], *n; e; e = n) {
      n = e->next;
      entry_free(e);
    }
  }
  if (h->epfd >= 0) close(h->epfd);
  if (h->wake_fd >= 0) close(h->wake_fd);
  pthread_mutex_destroy(&h->mu);
  free(h);
  d->health = NULL;
}
