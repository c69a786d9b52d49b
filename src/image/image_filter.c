/* image_filter.c - GET /images/json?filters=...: dangling, reference, label, before, since, with
 * Docker's rules for which tags are listed (daemon/images/images.go) */
#include "image/image_int.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

struct filters {
  char **dangling, **reference, **label, **before, **since;
};

static void filters_free(struct filters *f) {
  strv_free(f->dangling);
  strv_free(f->reference);
  strv_free(f->label);
  strv_free(f->before);
  strv_free(f->since);
}

char **image_filter_values(json_t *v) {
  char **out = xcalloc(1, sizeof(char *));
  size_t i;
  json_t *x;
  const char *k;
  if (json_is_array(v)) json_array_foreach(v, i, x) if (json_is_string(x)) out = strv_push(out, json_string_value(x));
  if (json_is_object(v)) json_object_foreach(v, k, x) out = strv_push(out, k);
  return out;
}

static int parse(json_t *j, struct filters *f, struct berth_error **err) {
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    static const char *const names[] = {"dangling", "reference", "label", "before", "since"};
    char ***slots[] = {&f->dangling, &f->reference, &f->label, &f->before, &f->since};
    size_t i = 0;
    while (i < ARRAY_SIZE(names) && strcmp(key, names[i]) != 0) i++;
    if (i == ARRAY_SIZE(names)) return berr(err, EINVAL, "invalid filter '%s'", key);
    strv_free(*slots[i]);
    *slots[i] = image_filter_values(v);
  }
  for (size_t i = 0; f->dangling && f->dangling[i]; i++)
    if (strcmp(f->dangling[i], "true") && strcmp(f->dangling[i], "false") && strcmp(f->dangling[i], "1") &&
        strcmp(f->dangling[i], "0"))
      return berr(err, EINVAL, "invalid filter 'dangling=%s'", f->dangling[i]);
  return 0;
}

/* ref_matches: Docker's FamiliarMatch: the pattern against "repo:tag", or "repo" */
static bool ref_matches(char **patterns, const char *ref) {
  _cleanup_free_ char *repo = xstrdup(ref);
  char *slash = strrchr(repo, '/');
  char *colon = strrchr(slash ? slash : repo, ':');
  if (colon) *colon = '\0';
  for (size_t i = 0; patterns[i]; i++)
    if (fnmatch(patterns[i], ref, 0) == 0 || fnmatch(patterns[i], repo, 0) == 0) return true;
  return false;
}

/* labels_match: every "k" or "k=v" is among the labels */
static bool labels_match(char **want, json_t *labels) {
  for (size_t i = 0; want[i]; i++) {
    const char *eq = strchr(want[i], '=');
    _cleanup_free_ char *k = eq ? xstrndup(want[i], (size_t)(eq - want[i])) : xstrdup(want[i]);
    const char *have = json_string_value(json_object_get(labels, k));
    if (!have || (eq && strcmp(have, eq + 1) != 0)) return false;
  }
  return true;
}

/* bound: created time of the image a before/since filter names */
static int bound(struct image_store *is, char **names, int64_t *out, struct berth_error **err) {
  if (!names || !names[0]) return 0;
  _cleanup_free_ char *id = NULL;
  struct store_image *si = NULL;
  int r = image_resolve(is, names[0], &id, err);
  if (r == 0) r = store_image_get(is->st, id, &si, err);
  if (r < 0) return r;
  *out = si->created_ns;
  store_image_free(si);
  return 0;
}

struct window {
  int64_t before, since; /* 0: unset */
};

/* keep: the summary of si under the filters, or NULL when filtered out */
static json_t *keep(struct image_store *is, struct store_image *si, int all, struct filters *f, struct window *w,
                    int *rc, struct berth_error **err) {
  if ((w->before && si->created_ns >= w->before) || (w->since && si->created_ns <= w->since)) return NULL;
  json_auto_t *labels = si->labels ? json_loads(si->labels, 0, NULL) : NULL;
  if (f->label && !labels_match(f->label, labels)) return NULL;
  _cleanup_strv_ char **tags = xcalloc(1, sizeof(char *));
  for (size_t i = 0; si->tags && si->tags[i]; i++)
    if (!f->reference || ref_matches(f->reference, si->tags[i])) tags = strv_push(tags, si->tags[i]);
  bool dangling_only = f->dangling && f->dangling[0] && (!strcmp(f->dangling[0], "true") || !strcmp(f->dangling[0], "1"));
  if (!tags[0]) {
    int64_t children = 0;
    if (!all && (*rc = store_image_children(is->st, si->id, &children, err)) < 0) return NULL;
    if (children > 0 && !all) return NULL;
    if ((f->dangling && !dangling_only) || f->reference) return NULL;
  } else if (dangling_only) {
    return NULL;
  }
  char **saved = si->tags;
  si->tags = tags;
  json_t *j = image_summary_json(si, labels);
  si->tags = saved;
  return j;
}

int image_list_json_filtered(struct image_store *is, int all, json_t *filters, json_t **out, struct berth_error **err) {
  struct filters f = {0};
  struct window w = {0};
  int r = filters ? parse(filters, &f, err) : 0;
  if (r == 0) r = bound(is, f.before, &w.before, err);
  if (r == 0) r = bound(is, f.since, &w.since, err);
  struct store_image **v = NULL;
  if (r == 0) r = store_image_list(is->st, &v, err);
  json_t *arr = json_array();
  for (size_t i = 0; r == 0 && v[i]; i++) {
    json_t *j = keep(is, v[i], all, &f, &w, &r, err);
    if (j) json_array_append_new(arr, j);
  }
  store_image_list_free(v);
  filters_free(&f);
  if (r < 0) {
    json_decref(arr);
    return r;
  }
  *out = arr;
  return 0;
}
