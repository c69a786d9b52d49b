/* ctr_ops.c - container lifecycle after start: kill, stop, remove, and what happens when a
 * container's shim exits (store update, unmount, waking waiters, auto-remove) */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/volumes.h"
#include "storage/storage.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* find_state: the store row and the in-memory state of ref */
static int find_state(struct daemon *d, const char *ref, struct store_container **c, struct ctr_state **st,
                      struct berth_error **err) {
  int r = store_container_find(d->store, ref, c, err);
  if (r < 0) return r;
  *st = ctr_state_get(d->ctrs, (*c)->id);
  return 0;
}

/* signal_locked: send sig to the container's init through its pidfd (never a reused pid) */
static int signal_locked(struct ctr_state *st, int sig, struct berth_error **err) {
  if (st->init_pidfd < 0) return berr(err, ESRCH, "container %s: its process is not known to this daemon", st->id);
  if (sys_pidfd_send_signal(st->init_pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
    return berr_sys(err, errno, "signal %d to container %s", sig, st->id);
  return 0;
}

/* wait_exit_locked: wait (st->mu held) until an exit after seq, or until deadline (NULL: none) */
static bool wait_exit_locked(struct daemon *d, struct ctr_state *st, uint64_t seq, const struct timespec *deadline) {
  while (st->exits == seq && st->running && !d->stopping) {
    if (!deadline) pthread_cond_wait(&st->cond, &st->mu);
    else if (pthread_cond_timedwait(&st->cond, &st->mu, deadline) == ETIMEDOUT) break;
  }
  return st->exits != seq || !st->running;
}

int ctr_kill(struct daemon *d, const char *ref, int sig, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  struct ctr_state *st = NULL;
  int r = find_state(d, ref, &c, &st, err);
  if (r < 0) return r;
  pthread_mutex_lock(&st->mu);
  if (!st->running) r = berr(err, EBUSY, "Container %s is not running", c->id);
  else restart_note_manual_stop(d, c->id);
  if (st->running) r = signal_locked(st, sig, err);
  if (r == 0 && st->running) ctr_pause_thaw_locked(d, st); /* a frozen process acts on no signal */
  pthread_mutex_unlock(&st->mu);
  ctr_state_put(d->ctrs, st);
  /* Actor.Attributes are strings (docker's client decodes map[string]string) */
  char signum[16];
  snprintf(signum, sizeof(signum), "%d", sig);
  if (r == 0) events_emit(d, "container", "kill", c->id, json_pack("{s:s}", "signal", signum));
  return r;
}

static int stop_signal(const struct store_container *c) {
  json_t *cfg = json_loads(c->config_json, 0, NULL);
  int sig = signal_parse(json_string_value(json_object_get(cfg, "StopSignal")));
  json_decref(cfg);
  return sig > 0 ? sig : SIGTERM;
}

/* stop_locked: SIGTERM (or StopSignal), SIGKILL after timeout_s (<0: wait forever) */
static int stop_locked(struct daemon *d, struct ctr_state *st, const struct store_container *c, int timeout_s,
                       struct berth_error **err) {
  pthread_mutex_lock(&st->mu);
  if (!st->running) {
    pthread_mutex_unlock(&st->mu);
    return berr(err, 304, "Container %s is not running", c->id);
  }
  uint64_t seq = st->exits;
  int r = signal_locked(st, stop_signal(c), err);
  if (r == 0) ctr_pause_thaw_locked(d, st);
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_sec += timeout_s;
  if (r == 0 && !wait_exit_locked(d, st, seq, timeout_s < 0 ? NULL : &dl)) {
    log_info("Container %.12s did not stop after %ds: killing it", c->id, timeout_s);
    r = signal_locked(st, SIGKILL, err);
    if (r == 0) wait_exit_locked(d, st, seq, NULL);
  }
  if (r == 0 && st->running && d->stopping) r = berr(err, EINTR, "the daemon is shutting down");
  pthread_mutex_unlock(&st->mu);
  return r;
}

int ctr_stop(struct daemon *d, const char *ref, int timeout_s, bool restart, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  struct ctr_state *st = NULL;
  int r = find_state(d, ref, &c, &st, err);
  if (r < 0) return r;
  ctr_lifecycle_begin(st);
  restart_note_manual_stop(d, c->id);
  r = stop_locked(d, st, c, timeout_s, err);
  if (r == -304 && restart_cancel(d, c->id)) { /* Docker: a stop ends the restart backoff, 204 */
    berr_clear(err);
    r = 0;
  }
  if (r == 0) events_emit(d, "container", "stop", c->id, NULL);
  ctr_lifecycle_end(st);
  ctr_state_put(d->ctrs, st);
  if (restart && (r == 0 || r == -304)) {
    berr_clear(err);
    r = ctr_start(d, c->id, err);
  }
  return r;
}

int ctr_remove_files(struct daemon *d, const char *id, struct berth_error **err) {
  health_forget(d, id);
  _cleanup_free_ char *dir = ctr_dir(d, id);
  _cleanup_free_ char *shim = ctr_shim_dir(d, id);
  int r = store_container_set_status(d->store, id, "removing", err);
  ctr_net_teardown(d, id, false);
  if (r == 0) r = storage_container_umount(d->storage, dir, err);
  if (r == 0) r = storage_container_remove(d->storage, dir, err);
  if (r == 0) r = rm_rf(dir, err);
  if (r == 0) r = rm_rf(shim, err);
  if (r == 0) r = store_container_delete(d->store, id, err);
  if (r < 0) {
    store_container_set_status(d->store, id, "dead", NULL);
    return berr_prefix(err, "remove container %.12s", id);
  }
  return 0;
}

int ctr_remove(struct daemon *d, const char *ref, bool force, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  struct ctr_state *st = NULL;
  int r = find_state(d, ref, &c, &st, err);
  if (r < 0) return r;
  ctr_lifecycle_begin(st);
  pthread_mutex_lock(&st->mu);
  if (st->removed) r = berr(err, ENOENT, "No such container: %s", ref);
  else if (st->running && !force)
    r = berr(err, EBUSY,
             "You cannot remove a running container %s. Stop the container before attempting removal or force "
             "remove",
             c->id);
  else if (st->running) {
    uint64_t seq = st->exits;
    r = signal_locked(st, SIGKILL, err);
    if (r == 0) ctr_pause_thaw_locked(d, st);
    if (r == 0 && !wait_exit_locked(d, st, seq, NULL)) r = berr(err, EINTR, "the daemon is shutting down");
  }
  pthread_mutex_unlock(&st->mu);
  if (r == 0) r = ctr_remove_files(d, c->id, err);
  if (r == 0) {
    events_emit(d, "container", "destroy", c->id,
                json_pack("{s:s, s:s}", "name", c->name, "image", c->image_ref ? c->image_ref : c->image_id));
    pthread_mutex_lock(&st->mu);
    st->removed = true;
    for (struct attach_waiter *w = st->waiters; w; w = w->next) w->done = true;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->mu);
  }
  ctr_lifecycle_end(st);
  ctr_state_put(d->ctrs, st);
  return r;
}

/* read_exit: STATE/exit is "EXITCODE FINISHED_AT[ oom]\n"; 0 or -ENOENT */
static int read_exit(const char *shim_dir, int *code, char *finished, size_t size, bool *oom) {
  _cleanup_free_ char *path = path_join(shim_dir, "exit");
  _cleanup_free_ char *text = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  if (read_file(path, &text, NULL, &e) < 0) return -ENOENT;
  char ts[64] = "", flag[8] = "";
  if (sscanf(text, "%d %63s %7s", code, ts, flag) < 1) return -ENOENT;
  if (ts[0]) snprintf(finished, size, "%s", ts);
  else time_now_rfc3339nano(finished, size);
  *oom = strcmp(flag, "oom") == 0;
  return 0;
}

/* ctr_set_oom_killed: State.OOMKilled of the last exit, false again at a start as Docker's
 * SetRunning (the store has no setter of its own for it) */
void ctr_set_oom_killed(struct daemon *d, const char *id, bool oom) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_berr_ struct berth_error *err = NULL;
  sqlite3_stmt *st = NULL;
  if (store_conn_get(d->store, &cn, &err) == 0 &&
      store_prep(cn.db, "UPDATE containers SET oom_killed = ? WHERE id = ?", &st, &err, 2, oom ? "1" : "0", id) == 0) {
    if (sqlite3_step(st) != SQLITE_DONE) log_warn("Container %.12s: OOMKilled not recorded", id);
  }
  if (err) log_warn("Container %.12s: OOMKilled not recorded: %s", id, berr_msg(err));
  sqlite3_finalize(st);
}

struct autoremove {
  struct daemon *d;
  char id[65];
};

static void *autoremove_main(void *arg) {
  struct autoremove *a = arg;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (ctr_remove(a->d, a->id, true, &err) < 0 && err && err->code != ENOENT)
    log_warn("Auto-remove of container %.12s failed: %s", a->id, berr_msg(err));
  else vol_ctr_forget(a->d, a->id, true); /* --rm takes the anonymous volumes along, as Docker does */
  free(a);
  return NULL;
}

void ctr_maybe_autoremove(struct daemon *d, const char *id) {
  _cleanup_store_container_ struct store_container *c = NULL;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (store_container_get(d->store, id, &c, &err) < 0) return;
  json_t *hc = json_loads(c->host_config_json, 0, NULL);
  bool ar = json_is_true(json_object_get(hc, "AutoRemove"));
  json_decref(hc);
  if (!ar) return;
  /* a thread of its own: removal takes the container's turn, which a stop may be holding */
  struct autoremove *a = xcalloc(1, sizeof(*a));
  a->d = d;
  memcpy(a->id, id, sizeof(a->id));
  pthread_t th;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&th, &at, autoremove_main, a) != 0) free(a);
  pthread_attr_destroy(&at);
}

/* reap_orphan: the shim died without recording an exit: kill the container's process it left
 * and forget the runtime's state, so that the container is really stopped and can start again */
static void reap_orphan(struct daemon *d, struct ctr_state *st) {
  pthread_mutex_lock(&st->mu);
  if (st->init_pidfd >= 0) sys_pidfd_send_signal(st->init_pidfd, SIGKILL, NULL, 0);
  pthread_mutex_unlock(&st->mu);
  _cleanup_free_ char *rt = xasprintf("%s/runtime/%s", d->cfg.exec_root, st->id);
  rm_rf(rt, NULL);
}

void ctr_handle_exit(struct daemon *d, struct ctr_state *st) {
  _cleanup_free_ char *shim = ctr_shim_dir(d, st->id);
  _cleanup_free_ char *dir = ctr_dir(d, st->id);
  _cleanup_berr_ struct berth_error *err = NULL;
  char finished[64];
  int code = 255;
  bool oom = false;
  const char *why = "";
  if (read_exit(shim, &code, finished, sizeof(finished), &oom) < 0) {
    code = 255;
    why = "shim died";
    reap_orphan(d, st);
    time_now_rfc3339nano(finished, sizeof(finished));
  }
  if (store_container_set_exited(d->store, st->id, code, finished, why, &err) < 0)
    log_error("Container %.12s exited (%d) but the store was not updated: %s", st->id, code, berr_msg(err));
  berr_clear(&err);
  if (oom) { /* false needs no write: a start clears it (the exit path stays short) */
    ctr_set_oom_killed(d, st->id, true);
    events_emit(d, "container", "oom", st->id, NULL);
  }
  /* die before the waiters wake, as Docker: a client whose wait returned may rename or remove it */
  char codes[16];
  snprintf(codes, sizeof(codes), "%d", code);
  events_emit(d, "container", "die", st->id, json_pack("{s:s}", "exitCode", codes));
  if (storage_container_umount(d->storage, dir, &err) < 0)
    log_warn("Unmount rootfs of %.12s: %s", st->id, berr_msg(err));
  berr_clear(&err);
  ctr_net_teardown(d, st->id, true);
  rm_rf(shim, NULL);
  log_debug("Container %.12s exited with %d", st->id, code);
  pthread_mutex_lock(&st->mu);
  st->running = false;
  if (st->shim_pidfd >= 0) close(st->shim_pidfd);
  if (st->init_pidfd >= 0) close(st->init_pidfd);
  st->shim_pidfd = st->init_pidfd = -1;
  st->shim_pid = 0;
  st->exit_code = code;
  st->exits++;
  pthread_cond_broadcast(&st->cond);
  pthread_mutex_unlock(&st->mu);
  events_volume_mounts(d, st->id, false);
  if (!restart_after_exit(d, st)) ctr_maybe_autoremove(d, st->id);
}
