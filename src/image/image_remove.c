/* image_remove.c - `docker rmi`: untag, and delete an image with the layers and blobs nothing
 * else uses, following Docker's rules for when a deletion conflicts (daemon/images/image_delete.go) */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

struct rm {
  struct image_store *is;
  struct store_image *img;
  json_t *records;
  size_t tags_left;
};

static void record(struct rm *rm, const char *kind, const char *what) {
  json_array_append_new(rm->records, json_pack("{s:s}", kind, what));
}

static int untag(struct rm *rm, const char *ref, struct berth_error **err) {
  int r = store_tag_delete(rm->is->st, ref, err);
  if (r < 0) return r;
  record(rm, "Untagged", ref);
  if (rm->tags_left > 0) rm->tags_left--;
  return 0;
}

static int untag_list(struct rm *rm, char **refs, struct berth_error **err) {
  for (size_t i = 0; refs && refs[i]; i++) {
    _cleanup_berr_ struct berth_error *e = NULL;
    int r = untag(rm, refs[i], &e);
    if (r < 0 && r != -ENOENT) {
      if (err && !*err) *err = take_ptr(&e);
      return r;
    }
  }
  return 0;
}

static int untag_all(struct rm *rm, struct berth_error **err) {
  int r = untag_list(rm, rm->img->tags, err);
  return r < 0 ? r : untag_list(rm, rm->img->digests, err);
}

/* repo_of: "a/b:tag" or "a/b@sha256:..." -> length of "a/b" */
static size_t repo_len(const char *ref) {
  const char *at = strchr(ref, '@');
  if (at) return (size_t)(at - ref);
  const char *slash = strrchr(ref, '/');
  const char *colon = strrchr(slash ? slash : ref, ':');
  return colon ? (size_t)(colon - ref) : strlen(ref);
}

static bool same_repo(const char *a, const char *b) {
  return repo_len(a) == repo_len(b) && strncmp(a, b, repo_len(a)) == 0;
}

/* one_repository: every tag and digest names the same repository (busybox:1, busybox:latest) */
static bool one_repository(const struct store_image *img) {
  const char *first = img->tags[0] ? img->tags[0] : img->digests[0];
  for (size_t i = 0; first && img->tags[i]; i++)
    if (!same_repo(img->tags[i], first)) return false;
  for (size_t i = 0; first && img->digests[i]; i++)
    if (!same_repo(img->digests[i], first)) return false;
  return true;
}

/* untag_repo_digests: after the tag ref went, digest references of its repository go too when
 * no other tag of that repository is left (moby's ImageDelete) */
static int untag_repo_digests(struct rm *rm, const char *ref, struct berth_error **err) {
  if (strchr(ref, '@')) return 0;
  for (size_t i = 0; rm->img->tags[i]; i++)
    if (strcmp(rm->img->tags[i], ref) != 0 && same_repo(rm->img->tags[i], ref)) return 0;
  for (size_t i = 0; rm->img->digests[i]; i++) {
    if (!same_repo(rm->img->digests[i], ref)) continue;
    int r = untag(rm, rm->img->digests[i], err);
    if (r < 0 && r != -ENOENT) return r;
  }
  return 0;
}

/* is_ref_of: ref is one of the image's tags or digest references */
static bool is_ref_of(const struct store_image *img, const char *ref) {
  for (size_t i = 0; img->tags[i]; i++)
    if (strcmp(img->tags[i], ref) == 0) return true;
  for (size_t i = 0; img->digests[i]; i++)
    if (strcmp(img->digests[i], ref) == 0) return true;
  return false;
}

static int conflict(struct rm *rm, bool hard, const char *why, const char *ctr, struct berth_error **err) {
  return berr(err, EBUSY, "conflict: unable to delete %.12s (%s) - %s%s%.12s", rm->img->id + 7,
              hard ? "cannot be forced" : "must be forced", why, ctr ? " " : "", ctr ? ctr : "");
}

/* drop_layers: layers no image and no other layer needs, with their tar blobs */
static int drop_layers(struct rm *rm, struct berth_error **err) {
  struct image_store *is = rm->is;
  _cleanup_strv_ char **unused = NULL;
  int r = store_layer_unused(is->st, &unused, err);
  for (size_t i = 0; r == 0 && unused[i]; i++) {
    _cleanup_free_ char *diff = NULL;
    _cleanup_berr_ struct berth_error *e = NULL;
    store_layer_diff_id(is->st, unused[i], &diff, &e);
    r = storage_layer_remove(is->drv, unused[i], err);
    if (r == 0) r = store_layer_delete(is->st, unused[i], err);
    if (r < 0) break;
    record(rm, "Deleted", unused[i]);
    if (diff && strlen(diff) == 71 && store_diff_id_used(is->st, diff, &e) == 0) {
      _cleanup_free_ char *blob = path_join(is->blobs, diff + 7);
      unlink(blob);
    }
    if (!unused[i + 1]) { /* removing a layer can free its parent: look again */
      strv_free(unused);
      unused = NULL;
      r = store_layer_unused(is->st, &unused, err);
      i = (size_t)-1;
    }
  }
  return r;
}

static int delete_image(struct rm *rm, bool force, bool quiet, struct berth_error **err) {
  struct image_store *is = rm->is;
  _cleanup_free_ char *running = NULL, *stopped = NULL;
  int64_t children = 0;
  int r = store_image_users(is->st, rm->img->id, &running, &stopped, err);
  if (r == 0) r = store_image_children(is->st, rm->img->id, &children, err);
  if (r < 0) return r;
  bool used = running || stopped;
  int c = 0;
  _cleanup_berr_ struct berth_error *cerr = NULL;
  if (children > 0) c = conflict(rm, true, "image has dependent child images", NULL, &cerr);
  else if (running) c = conflict(rm, true, "image is being used by running container", running, &cerr);
  else if (!force && rm->tags_left > 0) c = conflict(rm, false, "image is referenced in multiple repositories", NULL, &cerr);
  else if (!force && stopped) c = conflict(rm, false, "image is being used by stopped container", stopped, &cerr);
  if (c < 0) {
    bool dangling = rm->tags_left == 0 && children == 0;
    if (quiet && (!dangling || used)) return 0; /* the untag was all that was asked */
    *err = take_ptr(&cerr);
    return c;
  }
  r = untag_all(rm, err);
  if (r < 0) return r;
  if (stopped) return 0; /* forced: a container's row still names the image, so it stays untagged */
  r = store_image_delete(is->st, rm->img->id, err);
  if (r < 0) return r;
  record(rm, "Deleted", rm->img->id);
  _cleanup_free_ char *blob = path_join(is->blobs, rm->img->id + 7);
  unlink(blob);
  log_info("Deleted image %s", rm->img->id);
  return drop_layers(rm, err);
}

static int remove_locked(struct rm *rm, const char *name, bool force, struct berth_error **err) {
  _cleanup_free_ char *id = NULL;
  int r = image_resolve(rm->is, name, &id, err);
  if (r == 0) r = store_image_get(rm->is->st, id, &rm->img, err);
  if (r < 0) return r;
  rm->tags_left = strv_len(rm->img->tags) + strv_len(rm->img->digests);
  const char *n = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
  bool by_id = strncmp(id + 7, n, strlen(n)) == 0;
  _cleanup_free_ char *ref = NULL;
  /* a digest reference no row has named the image by its id */
  if (!by_id && (r = reference_normalize(name, &ref, err)) < 0) return r;
  if (!by_id && !is_ref_of(rm->img, ref)) by_id = true;
  if (!by_id) {
    if (!force && rm->tags_left == 1) {
      /* the last name of an image a container uses: removing it would leave that dangling */
      _cleanup_free_ char *running = NULL, *stopped = NULL;
      r = store_image_users(rm->is->st, id, &running, &stopped, err);
      if (r < 0) return r;
      const char *user = running ? running : stopped;
      if (user)
        return berr(err, EBUSY,
                    "conflict: unable to remove repository reference \"%s\" (must force) - container %.12s is "
                    "using its referenced image %.12s",
                    name, user, id + 7);
    }
    r = untag(rm, ref, err);
    if (r == 0) r = untag_repo_digests(rm, ref, err);
    if (r < 0) return r;
    if (rm->tags_left > 0) return 0;
    return delete_image(rm, force, true, err);
  }
  if (one_repository(rm->img)) {
    _cleanup_free_ char *running = NULL, *stopped = NULL;
    int64_t children = 0;
    r = store_image_users(rm->is->st, id, &running, &stopped, err);
    if (r == 0) r = store_image_children(rm->is->st, id, &children, err);
    if (r < 0) return r;
    /* untagging before a refusal would lose the tags for nothing */
    if (!running && !children && (force || !stopped)) r = untag_all(rm, err);
    if (r < 0) return r;
  }
  return delete_image(rm, force, false, err);
}

int image_remove(struct image_store *is, const char *name, int force, json_t **out, struct berth_error **err) {
  struct rm rm = {.is = is, .records = json_array()};
  pthread_mutex_lock(&is->lock);
  int r = remove_locked(&rm, name, force, err);
  pthread_mutex_unlock(&is->lock);
  store_image_free(rm.img);
  if (r < 0) {
    json_decref(rm.records);
    return r;
  }
  *out = rm.records;
  return 0;
}
