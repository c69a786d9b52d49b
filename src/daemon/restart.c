/* restart.c - restart policies (no, on-failure[:N], always, unless-stopped): Docker's decision and
 * backoff as a pure function, and the daemon side: RestartCount, the Restarting state, the delayed
 * start, manual stops (kept on disk for unless-stopped) and the restarts at daemon start */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Docker's restartmanager: 100 ms doubling up to a minute, reset after 10 s of running */
#define RESTART_FIRST_MS 100
#define RESTART_MAX_MS 60000
#define RESTART_RESET_MS 10000
/* marker of a manual stop in the container's directory (HasBeenManuallyStopped) */
#define MANUAL_STOP_FILE "manual-stop"

static const struct {
  const char *name;
  enum restart_kind kind;
} policies[] = {
    {"", RESTART_NO}, {"no", RESTART_NO}, {"on-failure", RESTART_ON_FAILURE},
    {"always", RESTART_ALWAYS}, {"unless-stopped", RESTART_UNLESS_STOPPED},
};

int restart_policy_parse(const char *name, int max_retry, struct restart_policy *out, struct berth_error **err) {
  *out = (struct restart_policy){RESTART_NO, 0};
  for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
    if (strcmp(name ? name : "", policies[i].name) != 0) continue;
    if (max_retry < 0) return berr(err, EINVAL, "invalid restart policy: maximum retry count cannot be negative");
    if (max_retry > 0 && policies[i].kind != RESTART_ON_FAILURE)
      return berr(err, EINVAL, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
    *out = (struct restart_policy){policies[i].kind, max_retry};
    return 0;
  }
  return berr(err, EINVAL, "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', "
              "'on-failure' or 'unless-stopped'", name);
}

bool restart_decide(const struct restart_policy *p, int exit_code, int restart_count, bool manual_stop,
                    bool daemon_start, int64_t ran_ms, int64_t *delay_ms) {
  if (p->kind == RESTART_NO) return false;
  if (ran_ms >= RESTART_RESET_MS) *delay_ms = 0;
  if (*delay_ms <= 0) *delay_ms = RESTART_FIRST_MS;
  else if (*delay_ms < RESTART_MAX_MS) *delay_ms *= 2;
  if (*delay_ms > RESTART_MAX_MS) *delay_ms = RESTART_MAX_MS;
  if (manual_stop && !daemon_start) return false; /* the user's stop cancels any policy */
  switch (p->kind) {
  case RESTART_ALWAYS: return true;
  case RESTART_UNLESS_STOPPED: return !manual_stop;
  case RESTART_ON_FAILURE:
    if (manual_stop) return false;
    return exit_code != 0 && (p->max_retry == 0 || restart_count < p->max_retry);
  default: return false;
  }
}

/* ---------- the daemon side ---------- */

static char *marker_path(struct daemon *d, const char *id) {
  _cleanup_free_ char *dir = ctr_dir(d, id);
  return path_join(dir, MANUAL_STOP_FILE);
}

static bool manually_stopped(struct daemon *d, const char *id) {
  _cleanup_free_ char *p = marker_path(d, id);
  return access(p, F_OK) == 0;
}

void restart_note_manual_stop(struct daemon *d, const char *id) {
  _cleanup_free_ char *p = marker_path(d, id);
  _cleanup_berr_ struct berth_error *err = NULL;
  if (access(p, F_OK) != 0 && write_file_atomic(p, "", 0, 0600, 0, &err) < 0)
    log_warn("Container %.12s: record the manual stop: %s", id, berr_msg(err));
}

/* update_row: one UPDATE of the container id (bound, not pasted into the SQL) */
static int update_row(struct daemon *d, const char *sql, const char *id, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
  int r = store_conn_get(d->store, &cn, err);
  if (r == 0) r = store_prep(cn.db, sql, &stmt, err, 1, id);
  if (r < 0) return r;
  int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(cn.db, rc, "store: update container", err);
}

void restart_on_start(struct daemon *d, struct ctr_state *st) {
  pthread_mutex_lock(&st->mu);
  bool automatic = st->restart_auto;
  st->restart_auto = false;
  if (!automatic) st->restart_delay_ms = 0;
  pthread_mutex_unlock(&st->mu);
  if (automatic) return;
  _cleanup_free_ char *p = marker_path(d, st->id);
  unlink(p);
  _cleanup_berr_ struct berth_error *err = NULL;
  if (update_row(d, "UPDATE containers SET restart_count = 0 WHERE id = ?", st->id, &err) < 0)
    log_warn("Container %.12s: reset RestartCount: %s", st->id, berr_msg(err));
}

/* mark_restarting: status "restarting" and RestartCount + 1, like Docker does before the wait */
static int mark_restarting(struct daemon *d, const char *id, struct berth_error **err) {
  return update_row(d, "UPDATE containers SET status = 'restarting', restart_count = restart_count + 1 WHERE id = ?",
                    id, err);
}

static int64_t ran_ms(const struct store_container *c) {
  struct timespec a, b;
  if (time_parse_rfc3339(c->started_at, &a) < 0 || time_parse_rfc3339(c->finished_at, &b) < 0) return 0;
  int64_t ms = (int64_t)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  return ms > 0 ? ms : 0;
}

static int policy_of(const struct store_container *c, struct restart_policy *p) {
  _cleanup_json_ json_t *hc = json_loads(c->host_config_json, 0, NULL);
  json_t *rp = json_object_get(hc, "RestartPolicy");
  _cleanup_berr_ struct berth_error *err = NULL;
  return restart_policy_parse(json_string_value(json_object_get(rp, "Name")),
                              (int)json_integer_value(json_object_get(rp, "MaximumRetryCount")), p, &err);
}

/* still_restarting: the store still shows the container waiting for its restart */
static bool still_restarting(struct daemon *d, const char *id) {
  _cleanup_store_container_ struct store_container *c = NULL;
  if (store_container_get(d->store, id, &c, NULL) < 0) return false;
  return strcmp(c->status, "restarting") == 0;
}

bool restart_cancel(struct daemon *d, const char *id) {
  if (!still_restarting(d, id)) return false;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (store_container_set_status(d->store, id, "exited", &err) < 0) {
    log_warn("Container %.12s: cancel its restart: %s", id, berr_msg(err));
    return false;
  }
  return true;
}

struct pending {
  struct daemon *d;
  struct ctr_state *st; /* a reference held through the wait: the backoff lives in it */
  char id[65];
  int64_t delay_ms;
  bool fresh; /* daemon start: a start like the user's (Docker resets the manager and the manual stop) */
};

/* pending_main: wait out the backoff (the daemon's stop ends it), then start unless stopped meanwhile */
static void *pending_main(void *arg) {
  struct pending *pd = arg;
  struct daemon *d = pd->d;
  struct pollfd p = {.fd = d->stop_efd, .events = POLLIN};
  if (pd->delay_ms > 0) poll(&p, 1, (int)pd->delay_ms);
  if (d->stopping) {
    /* the table goes away with the daemon: no put; the store keeps "restarting" for the next start */
    free(pd);
    return NULL;
  }
  struct ctr_state *st = pd->st;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (!pd->fresh && !still_restarting(d, pd->id)) {
    /* stopped (restart_cancel), started or removed meanwhile: nothing left to do */
  } else if (!pd->fresh && manually_stopped(d, pd->id)) {
    /* a stop while restarting: the container stays exited */
    store_container_set_status(d->store, pd->id, "exited", NULL);
  } else {
    pthread_mutex_lock(&st->mu);
    st->restart_auto = !pd->fresh;
    pthread_mutex_unlock(&st->mu);
    if (ctr_start(d, pd->id, &err) < 0 && err && err->code != 304) {
      log_warn("Container %.12s: restart failed: %s", pd->id, berr_msg(err));
      store_container_set_status(d->store, pd->id, "exited", NULL);
    }
  }
  ctr_state_put(d->ctrs, pd->st);
  free(pd);
  return NULL;
}

static void schedule(struct daemon *d, const char *id, int64_t delay_ms, bool fresh) {
  struct pending *pd = xcalloc(1, sizeof(*pd));
  pd->d = d;
  snprintf(pd->id, sizeof(pd->id), "%s", id);
  pd->delay_ms = delay_ms;
  pd->fresh = fresh;
  pd->st = ctr_state_get(d->ctrs, id);
  pthread_t th;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&th, &at, pending_main, pd) != 0) {
    log_error("Container %.12s: no thread for its restart", id);
    store_container_set_status(d->store, id, "exited", NULL);
    ctr_state_put(d->ctrs, pd->st);
    free(pd);
  }
  pthread_attr_destroy(&at);
}

bool restart_after_exit(struct daemon *d, struct ctr_state *st) {
  if (!d->restored || d->stopping) return false; /* restart_after_restore decides at startup */
  _cleanup_store_container_ struct store_container *c = NULL;
  _cleanup_berr_ struct berth_error *err = NULL;
  struct restart_policy p;
  if (store_container_get(d->store, st->id, &c, &err) < 0 || policy_of(c, &p) < 0 || p.kind == RESTART_NO)
    return false;
  pthread_mutex_lock(&st->mu);
  int64_t delay = st->restart_delay_ms;
  bool removed = st->removed;
  pthread_mutex_unlock(&st->mu);
  if (removed) return false;
  bool yes = restart_decide(&p, c->exit_code, c->restart_count, manually_stopped(d, st->id), false, ran_ms(c), &delay);
  pthread_mutex_lock(&st->mu);
  st->restart_delay_ms = delay;
  pthread_mutex_unlock(&st->mu);
  if (!yes) return false;
  if (mark_restarting(d, st->id, &err) < 0) {
    log_warn("Container %.12s: %s", st->id, berr_msg(err));
    return false;
  }
  log_debug("Container %.12s: restarting in %lld ms", st->id, (long long)delay);
  schedule(d, st->id, delay, false);
  return true;
}

void restart_after_restore(struct daemon *d) {
  d->restored = true;
  struct store_container **list = NULL;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (store_container_list(d->store, &list, &err) < 0) {
    log_warn("Restart policies at startup: %s", berr_msg(err));
    return;
  }
  for (size_t i = 0; list[i]; i++) {
    struct store_container *c = list[i];
    struct restart_policy p;
    if (strcmp(c->status, "restarting") == 0) {
      /* berthd went away during the backoff: the restart goes on where it was (count kept) */
      log_info("Container %.12s: restarting it (restart policy)", c->id);
      schedule(d, c->id, RESTART_FIRST_MS, false);
      continue;
    }
    bool down = strcmp(c->status, "exited") == 0;
    if (!down || policy_of(c, &p) < 0) continue;
    int64_t delay = 0;
    if (!restart_decide(&p, c->exit_code, c->restart_count, manually_stopped(d, c->id), true, ran_ms(c), &delay))
      continue;
    log_info("Container %.12s: starting it again (restart policy)", c->id);
    schedule(d, c->id, 0, true);
  }
  store_container_list_free(list);
}
