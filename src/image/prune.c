/* prune.c - the filters of container, image and system prune (until=, label=, label!=,
 * dangling=) and POST /images/prune: unused images, parents after their children */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void image_prune_filter_clear(struct image_prune_filter *f) {
  strv_free(f->labels);
  strv_free(f->not_labels);
  f->labels = f->not_labels = NULL;
}

/* until_ns: Docker's timetypes.GetTimestamp: a duration before now, a Unix time (seconds with an
 * optional fraction), RFC 3339, or a date/time in UTC ("2006-01-02", "2006-01-02T15:04:05") */
static int until_ns(const char *v, int64_t *out) {
  int64_t d = 0;
  if (time_parse_go_duration(v, &d) == 0) return *out = time_now_ns() - d, 0;
  char *end;
  double secs = strtod(v, &end);
  if (end != v && !*end && !strchr(v, '-')) return *out = (int64_t)(secs * 1e9), 0;
  struct timespec ts;
  if (time_parse_rfc3339(v, &ts) == 0) return *out = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0;
  static const char *const formats[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
  for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
    struct tm tm = {0};
    const char *rest = strptime(v, formats[i], &tm);
    if (rest && !*rest) return *out = (int64_t)timegm(&tm) * 1000000000, 0;
  }
  return -EINVAL;
}

int image_prune_filter_parse(json_t *filters, bool images, struct image_prune_filter *f, struct berth_error **err) {
  *f = (struct image_prune_filter){.dangling = -1};
  const char *key;
  json_t *v;
  json_object_foreach(filters, key, v) {
    _cleanup_strv_ char **vals = image_filter_values(v);
    if (strcmp(key, "until") == 0) {
      if (strv_len(vals) > 1) return berr(err, EINVAL, "more than one until filter specified");
      if (vals[0] && until_ns(vals[0], &f->until_ns) < 0)
        return berr(err, EINVAL, "failed to parse value as time or duration: \"%s\"", vals[0]);
    } else if (strcmp(key, "label") == 0 || strcmp(key, "label!") == 0) {
      char ***slot = key[5] ? &f->not_labels : &f->labels;
      for (size_t i = 0; vals[i]; i++) *slot = strv_push(*slot ? *slot : xcalloc(1, sizeof(char *)), vals[i]);
    } else if (images && strcmp(key, "dangling") == 0) {
      for (size_t i = 0; vals[i]; i++) {
        if (strcmp(vals[i], "true") == 0 || strcmp(vals[i], "1") == 0) f->dangling = 1;
        else if (strcmp(vals[i], "false") == 0 || strcmp(vals[i], "0") == 0) f->dangling = 0;
        else return berr(err, EINVAL, "invalid filter 'dangling=%s'", vals[i]);
      }
    } else {
      return berr(err, EINVAL, "Invalid filter '%s'", key);
    }
  }
  return 0;
}

/* has_label: "k" is set, or "k=v" is set to v */
static bool has_label(json_t *labels, const char *want) {
  const char *eq = strchr(want, '=');
  _cleanup_free_ char *k = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
  const char *have = json_string_value(json_object_get(labels, k));
  return have && (!eq || strcmp(have, eq + 1) == 0);
}

bool image_prune_filter_match(const struct image_prune_filter *f, int64_t created_ns, json_t *labels) {
  if (f->until_ns && created_ns >= f->until_ns) return false;
  for (size_t i = 0; f->labels && f->labels[i]; i++)
    if (!has_label(labels, f->labels[i])) return false;
  for (size_t i = 0; f->not_labels && f->not_labels[i]; i++)
    if (has_label(labels, f->not_labels[i])) return false;
  return true;
}

/* prunable: si is unused and passes the filter (dangling only unless dangling=false) */
static bool prunable(struct image_store *is, struct store_image *si, const struct image_prune_filter *f) {
  bool tagged = (si->tags && si->tags[0]) || (si->digests && si->digests[0]);
  if (f->dangling != 0 && tagged) return false;
  json_auto_t *labels = si->labels ? json_loads(si->labels, 0, NULL) : NULL;
  if (!image_prune_filter_match(f, si->created_ns, labels)) return false;
  _cleanup_free_ char *running = NULL, *stopped = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  return store_image_users(is->st, si->id, &running, &stopped, &e) == 0 && !running && !stopped;
}

/* prune_pass: one round over the images; a parent becomes removable once its children are gone */
static int prune_pass(struct image_store *is, const struct image_prune_filter *f, json_t *deleted, int64_t *reclaimed,
                      struct berth_error **err) {
  struct store_image **v = NULL;
  int r = store_image_list(is->st, &v, err);
  if (r < 0) return r;
  for (size_t i = 0; v[i]; i++) {
    if (!prunable(is, v[i], f)) continue;
    json_t *items = NULL;
    _cleanup_berr_ struct berth_error *e = NULL;
    if (image_remove(is, v[i]->id, 1, &items, &e) < 0) continue; /* a parent of others stays */
    size_t k;
    json_t *x;
    json_array_foreach(items, k, x) json_array_append(deleted, x);
    json_decref(items);
    *reclaimed += v[i]->size;
  }
  store_image_list_free(v);
  return 0;
}

int image_prune_filtered(struct image_store *is, const struct image_prune_filter *f, json_t **out,
                         struct berth_error **err) {
  json_auto_t *deleted = json_array();
  int64_t reclaimed = 0;
  size_t before;
  int r;
  do {
    before = json_array_size(deleted);
    r = prune_pass(is, f, deleted, &reclaimed, err);
  } while (r == 0 && json_array_size(deleted) > before);
  if (r < 0) return r;
  *out = json_pack("{s:O, s:I}", "ImagesDeleted", json_array_size(deleted) ? deleted : json_null(), "SpaceReclaimed",
                   (json_int_t)reclaimed);
  return 0;
}

int image_prune(struct image_store *is, int all, json_t **out, struct berth_error **err) {
  struct image_prune_filter f = {.dangling = all ? 0 : -1};
  return image_prune_filtered(is, &f, out, err);
}
