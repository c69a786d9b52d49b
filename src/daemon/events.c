/* events.c - GET /events: a bounded in-memory ring of Docker-shaped events (for since/until) and
 * a stream to every listener, with the container, image, event, type and label filters */
#define LOG_TAG "berthd"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS_RING 1024

struct events {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  uint64_t next;             /* sequence number of the next event; ring[seq % EVENTS_RING] */
  struct stored {
    int64_t ns;
    char *text; /* compact JSON: a third of a json_t tree's memory, and what listeners send */
  } ring[EVENTS_RING];
};

int events_open(struct daemon *d, struct berth_error **err) {
  (void)err;
  struct events *e = xcalloc(1, sizeof(*e));
  pthread_mutex_init(&e->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->cond, &ca);
  pthread_condattr_destroy(&ca);
  d->events = e;
  return 0;
}

void events_close(struct daemon *d) {
  struct events *e = d->events;
  if (!e) return;
  for (size_t i = 0; i < EVENTS_RING; i++) free(e->ring[i].text);
  pthread_cond_destroy(&e->cond);
  pthread_mutex_destroy(&e->mu);
  free(e);
  d->events = NULL;
}

/* ctr_attrs: name, image and the labels of container ref, as Docker puts them in Attributes;
 * full receives its full id (ref may be a name or a prefix) */
static void ctr_attrs(struct daemon *d, const char *ref, json_t *attrs, char full[65]) {
  _cleanup_store_container_ struct store_container *c = NULL;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (store_container_find(d->store, ref, &c, &err) < 0) return;
  memcpy(full, c->id, 65);
  _cleanup_json_ json_t *cfg = json_loads(c->config_json, 0, NULL);
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(cfg, "Labels"), k, v) if (json_is_string(v)) json_object_set(attrs, k, v);
  json_object_set_new(attrs, "name", json_string(c->name));
  json_object_set_new(attrs, "image", json_string(c->image_ref ? c->image_ref : c->image_id));
}

void events_emit(struct daemon *d, const char *type, const char *action, const char *id, json_t *attrs) {
  if (!d->events) {
    json_decref(attrs);
    return;
  }
  if (!attrs) attrs = json_object();
  /* Actor.Attributes is map[string]string to docker's client: numbers and booleans as text */
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) {
    if (json_is_string(v)) continue;
    _cleanup_free_ char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_object_set_new(attrs, k, json_string(t ? t : ""));
  }
  char full[65];
  snprintf(full, sizeof(full), "%s", id);
  if (strcmp(type, "container") == 0 && *id && !json_object_get(attrs, "image")) ctr_attrs(d, id, attrs, full);
  id = full;
  int64_t ns = time_now_ns();
  json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type", type, "Action", action, "Actor", "ID",
                         id, "Attributes", attrs, "scope", "local", "time", (json_int_t)(ns / 1000000000),
                         "timeNano", (json_int_t)ns);
  if (!ev) return;
  /* the legacy fields older clients read */
  if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
    json_object_set_new(ev, "status", json_string(action));
    json_object_set_new(ev, "id", json_string(id));
    const char *from = json_string_value(json_object_get(attrs, "image"));
    if (from && strcmp(type, "container") == 0) json_object_set_new(ev, "from", json_string(from));
  }
  char *text = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  if (!text) return;
  struct events *e = d->events;
  pthread_mutex_lock(&e->mu);
  struct stored *slot = &e->ring[e->next % EVENTS_RING];
  free(slot->text);
  *slot = (struct stored){ns, text};
  e->next++;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->mu);
}

void events_volume_mounts(struct daemon *d, const char *id, bool mount) {
  _cleanup_free_ char *dir = ctr_dir(d, id);
  _cleanup_json_ json_t *mounts = vol_mounts_json(dir);
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *name = json_string_value(json_object_get(m, "Name"));
    if (!type || strcmp(type, "volume") != 0 || !name) continue;
    const char *driver = json_string_value(json_object_get(m, "Driver"));
    json_t *attrs = json_pack("{s:s, s:s}", "driver", driver ? driver : "local", "container", id);
    if (mount) { /* moby setupMounts: where, how and with what propagation */
      const char *dst = json_string_value(json_object_get(m, "Destination"));
      const char *prop = json_string_value(json_object_get(m, "Propagation"));
      json_object_set_new(attrs, "destination", json_string(dst ? dst : ""));
      json_object_set_new(attrs, "read/write", json_string(json_is_false(json_object_get(m, "RW")) ? "false" : "true"));
      json_object_set_new(attrs, "propagation", json_string(prop ? prop : ""));
    }
    events_emit(d, "volume", mount ? "mount" : "unmount", name, attrs);
  }
}

/* ---------- GET /events ---------- */

struct listener {
  struct daemon *d;
  uint64_t cursor;
  int64_t since_ns, until_ns; /* 0: none */
  json_t *filters;            /* {"container":["x"], ...} normalised to arrays */
  struct buf pending;
  size_t sent;
};

int events_parse_time(const char *s, int64_t *ns, struct berth_error **err) {
  *ns = 0;
  if (!s || !*s || strcmp(s, "0") == 0) return 0;
  struct timespec ts;
  if (time_parse_rfc3339(s, &ts) == 0) {
    *ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return 0;
  }
  int64_t rel;
  if (time_parse_go_duration(s, &rel) == 0 && rel >= 0 && strpbrk(s, "hmsuµn")) {
    *ns = time_now_ns() - rel;
    return 0;
  }
  char *end;
  double v = strtod(s, &end);
  if (*end || v < 0) return berr(err, EINVAL, "invalid timestamp \"%s\"", s);
  *ns = (int64_t)(v * 1e9);
  return 0;
}

/* normalise_filters: {"k":{"v":true}} (the old shape) or {"k":["v"]} -> {"k":["v"]} */
static int normalise_filters(const char *text, json_t **out, struct berth_error **err) {
  *out = json_object();
  if (!text || !*text) return 0;
  _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
  if (!json_is_object(j)) return berr(err, EINVAL, "invalid filter \"%s\"", text);
  static const char *const known[] = {"container", "image", "event", "type", "label", "scope", "daemon",
                                      "network", "volume", "plugin", "node", "service", "secret", "config"};
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    bool ok = false;
    for (size_t i = 0; i < ARRAY_SIZE(known); i++) ok = ok || strcmp(k, known[i]) == 0;
    if (!ok) return berr(err, EINVAL, "invalid filter '%s'", k);
    json_t *arr = json_array();
    if (json_is_array(v)) json_array_extend(arr, v);
    else if (json_is_object(v)) {
      const char *val;
      json_t *t;
      json_object_foreach(v, val, t) json_array_append_new(arr, json_string(val));
    }
    json_object_set_new(*out, k, arr);
  }
  return 0;
}

/* any_of: does one of the filter's values match one of the candidates (NULLs skipped)? */
static bool any_of(const json_t *vals, const char *const *cands, size_t n) {
  size_t i;
  json_t *v;
  json_array_foreach(vals, i, v) {
    const char *want = json_string_value(v);
    for (size_t k = 0; want && k < n; k++)
      if (cands[k] && (strcmp(want, cands[k]) == 0 || (strlen(want) >= 12 && strncmp(cands[k], want, strlen(want)) == 0)))
        return true;
  }
  return false;
}

static bool label_match(const json_t *vals, const json_t *attrs) {
  size_t i;
  json_t *v;
  json_array_foreach(vals, i, v) {
    const char *want = json_string_value(v);
    if (!want) continue;
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    const char *have = json_string_value(json_object_get(attrs, key));
    if (!have || (eq && strcmp(have, eq + 1) != 0)) return false;
  }
  return true;
}

/* matches: Docker's event filters: each key must match (values of one key are alternatives) */
bool events_match(const json_t *filters, const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "Type"));
  const char *action = json_string_value(json_object_get(ev, "Action"));
  const json_t *actor = json_object_get(ev, "Actor");
  const char *id = json_string_value(json_object_get(actor, "ID"));
  const json_t *attrs = json_object_get(actor, "Attributes");
  const char *name = json_string_value(json_object_get(attrs, "name"));
  const char *image = json_string_value(json_object_get(attrs, "image"));
  bool is_ctr = type && strcmp(type, "container") == 0, is_img = type && strcmp(type, "image") == 0;
  bool is_vol = type && strcmp(type, "volume") == 0;
  const char *vol_c[] = {is_vol ? id : NULL};
  const char *ctr_c[] = {is_ctr ? id : NULL, is_ctr ? name : NULL};
  const char *img_c[] = {is_img ? id : image, is_img ? name : NULL};
  /* "exec_start: sh -c x" is matched by "exec_start" */
  char act[64] = "";
  if (action) snprintf(act, sizeof(act), "%.*s", (int)strcspn(action, ":"), action);
  const char *ev_c[] = {action, act};
  const char *type_c[] = {type};
  const char *scope_c[] = {"local"};
  const char *k;
  json_t *vals;
  json_object_foreach((json_t *)filters, k, vals) {
    if (json_array_size(vals) == 0) continue;
    bool ok = true;
    if (strcmp(k, "container") == 0) ok = any_of(vals, ctr_c, 2);
    else if (strcmp(k, "image") == 0) ok = any_of(vals, img_c, 2);
    else if (strcmp(k, "event") == 0) ok = any_of(vals, ev_c, 2);
    else if (strcmp(k, "type") == 0) ok = any_of(vals, type_c, 1);
    else if (strcmp(k, "scope") == 0) ok = any_of(vals, scope_c, 1);
    else if (strcmp(k, "label") == 0) ok = label_match(vals, attrs);
    else if (strcmp(k, "volume") == 0) ok = any_of(vals, vol_c, 1);
    else ok = false; /* network, plugin ...: berth emits no such events yet */
    if (!ok) return false;
  }
  return true;
}

/* collect: the listener's next events (under e->mu); true when something was added */
static bool collect(struct listener *l, struct events *e) {
  bool any = false;
  if (e->next > EVENTS_RING && l->cursor < e->next - EVENTS_RING) l->cursor = e->next - EVENTS_RING;
  for (; l->cursor < e->next; l->cursor++) {
    const struct stored *ev = &e->ring[l->cursor % EVENTS_RING];
    if ((l->since_ns && ev->ns < l->since_ns) || (l->until_ns && ev->ns > l->until_ns)) continue;
    if (json_object_size(l->filters)) {
      _cleanup_json_ json_t *j = json_loads(ev->text, 0, NULL);
      if (!j || !events_match(l->filters, j)) continue;
    }
    buf_puts(&l->pending, ev->text);
    buf_putc(&l->pending, '\n');
    any = true;
  }
  return any;
}

static ssize_t listener_read(void *cls, uint64_t pos, char *out, size_t max) {
  (void)pos;
  struct listener *l = cls;
  struct events *e = l->d->events;
  for (;;) {
    if (l->sent < l->pending.len) {
      size_t n = l->pending.len - l->sent;
      if (n > max) n = max;
      memcpy(out, l->pending.p + l->sent, n);
      l->sent += n;
      if (l->sent == l->pending.len) {
        buf_reset(&l->pending);
        l->sent = 0;
      }
      return (ssize_t)n;
    }
    if (l->d->stopping) return MHD_CONTENT_READER_END_OF_STREAM;
    if (l->until_ns && time_now_ns() > l->until_ns) return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&e->mu);
    if (!collect(l, e)) {
      struct timespec dl;
      clock_gettime(CLOCK_MONOTONIC, &dl);
      dl.tv_nsec += 200 * 1000000; /* wake now and then for the daemon's stop and until */
      if (dl.tv_nsec >= 1000000000) dl.tv_sec++, dl.tv_nsec -= 1000000000;
      pthread_cond_timedwait(&e->cond, &e->mu, &dl);
      collect(l, e);
    }
    pthread_mutex_unlock(&e->mu);
  }
}

static void listener_free(void *cls) {
  struct listener *l = cls;
  json_decref(l->filters);
  buf_free(&l->pending);
  free(l);
}

int h_events(struct req *r, struct reply *out, struct berth_error **err) {
  int64_t since = 0, until = 0;
  json_t *filters = NULL;
  int rc = events_parse_time(req_query(r, "since"), &since, err);
  if (rc == 0) rc = events_parse_time(req_query(r, "until"), &until, err);
  if (rc == 0) rc = normalise_filters(req_query(r, "filters"), &filters, err);
  if (rc < 0) {
    json_decref(filters);
    return rc;
  }
  struct listener *l = xcalloc(1, sizeof(*l));
  l->d = r->d;
  l->since_ns = since;
  l->until_ns = until;
  l->filters = filters;
  struct events *e = r->d->events;
  pthread_mutex_lock(&e->mu);
  /* without since only what happens from now on; with it, what the ring still holds */
  l->cursor = since || until ? (e->next > EVENTS_RING ? e->next - EVENTS_RING : 0) : e->next;
  if (since || until) collect(l, e);
  pthread_mutex_unlock(&e->mu);
  out->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8 * 1024, listener_read, l, listener_free);
  MHD_add_response_header(out->resp, "Content-Type", "application/json");
  return 0;
}
