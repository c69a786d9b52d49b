/* h_images.c - image endpoints: create (import from the request body), list, inspect, tag */
#include "common/strv.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include "common/fs.h"
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <unistd.h>
#include <string.h>

static enum MHD_Result collect_changes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  char ***v = cls;
  if (strcmp(key, "changes") == 0 && value && *value) *v = strv_push(*v, value);
  return MHD_YES;
}

/* import_repo_tag: "repo[:tag]" from the repo= and tag= parameters, NULL when untagged */
static char *import_repo_tag(struct req *r) {
  const char *repo = req_query(r, "repo");
  const char *tag = req_query(r, "tag");
  if (!repo || !*repo) return NULL;
  if (tag && *tag) return xasprintf("%s:%s", repo, tag);
  return xstrdup(repo);
}

int h_images_create(struct req *r, struct reply *out, struct berth_error **err) {
  const char *from_image = req_query(r, "fromImage");
  const char *from_src = req_query(r, "fromSrc");
  if (from_image && *from_image)
    return berr(err, ENOTSUP, "pulling images is not supported yet (asked for \"%s\"%s%s)", from_image,
                r->d->cfg.default_registry ? " from " : "",
                r->d->cfg.default_registry ? r->d->cfg.default_registry : "");
  if (!from_src || !*from_src) return berr(err, EINVAL, "fromImage or fromSrc must be given");
  if (strcmp(from_src, "-") != 0)
    return berr(err, ENOTSUP, "importing from a URL is not supported yet: send the tarball in the body");
  _cleanup_strv_ char **changes = NULL;
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_changes, &changes);
  _cleanup_free_ char *repo_tag = import_repo_tag(r);
  _cleanup_free_ char *id = NULL;
  int rc = image_import(r->d->images, r->body_fd, repo_tag, req_query(r, "message"), changes, &id, err);
  if (rc < 0) return rc;
  events_emit(r->d, "image", "import", id, json_pack("{s:s}", "name", repo_tag ? repo_tag : id));
  /* Docker's import answers with a JSON progress stream whose last message is the image id */
  buf_puts(&out->body, "{\"status\":");
  buf_json_string(&out->body, id, strlen(id));
  buf_puts(&out->body, "}\r\n");
  out->content_type = "application/json";
  return 0;
}

int h_images_list(struct req *r, struct reply *out, struct berth_error **err) {
  const char *f = req_query(r, "filters");
  _cleanup_json_ json_t *filters = NULL;
  if (f && *f) {
    filters = json_loads(f, 0, NULL);
    if (!json_is_object(filters)) return berr(err, EINVAL, "invalid filter: %s", f);
  }
  return image_list_json_filtered(r->d->images, req_query_bool(r, "all", false), filters, &out->json, err);
}

int h_image_inspect(struct req *r, struct reply *out, struct berth_error **err) {
  return image_inspect_json(r->d->images, req_param(r, "name"), &out->json, err);
}

int h_image_tag(struct req *r, struct reply *out, struct berth_error **err) {
  const char *repo = req_query(r, "repo");
  if (!repo || !*repo) return berr(err, EINVAL, "repository name must be given (repo=)");
  int rc = image_tag(r->d->images, req_param(r, "name"), repo, req_query(r, "tag"), err);
  if (rc < 0) return rc;
  const char *tag = req_query(r, "tag");
  events_emit(r->d, "image", "tag", req_param(r, "name"),
              json_pack("{s:s+++}", "name", repo, tag && *tag ? ":" : "", tag && *tag ? tag : "", ""));
  out->status = 201;
  return 0;
}

/* tmpfile_response: a body produced into a temp file first (save, export), sent from the fd */
static int tmpfile_response(struct req *r, int fd, struct reply *out, struct berth_error **err) {
  off_t size = lseek(fd, 0, SEEK_END);
  lseek(fd, 0, SEEK_SET);
  if (size < 0) {
    close(fd);
    return berr_sys(err, errno, "temporary file");
  }
  out->resp = MHD_create_response_from_fd((uint64_t)size, fd);
  MHD_add_response_header(out->resp, "Content-Type", "application/x-tar");
  return 0;
}

static int open_tmp(struct req *r, struct berth_error **err) {
  _cleanup_free_ char *tmp = path_join(r->d->cfg.data_root, "tmp");
  int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return berr_sys(err, errno, "create a temporary file in \"%s\"", tmp);
  return fd;
}

int h_image_remove(struct req *r, struct reply *out, struct berth_error **err) {
  int rc = image_remove(r->d->images, req_param(r, "name"), req_query_bool(r, "force", false), &out->json, err);
  size_t i;
  json_t *v;
  json_array_foreach(rc == 0 ? out->json : NULL, i, v) {
    const char *untagged = json_string_value(json_object_get(v, "Untagged"));
    const char *deleted = json_string_value(json_object_get(v, "Deleted"));
    if (untagged) events_emit(r->d, "image", "untag", untagged, json_pack("{s:s}", "name", untagged));
    if (deleted) events_emit(r->d, "image", "delete", deleted, json_pack("{s:s}", "name", deleted));
  }
  return rc;
}

int h_image_history(struct req *r, struct reply *out, struct berth_error **err) {
  return image_history_json(r->d->images, req_param(r, "name"), &out->json, err);
}

int h_images_prune(struct req *r, struct reply *out, struct berth_error **err) {
  const char *f = req_query(r, "filters");
  _cleanup_json_ json_t *filters = f && *f ? json_loads(f, 0, NULL) : json_object();
  if (!json_is_object(filters)) return berr(err, EINVAL, "invalid filter: %s", f);
  struct image_prune_filter pf;
  int rc = image_prune_filter_parse(filters, true, &pf, err);
  if (rc == 0) rc = image_prune_filtered(r->d->images, &pf, &out->json, err);
  image_prune_filter_clear(&pf);
  size_t i;
  json_t *v;
  json_array_foreach(rc == 0 ? json_object_get(out->json, "ImagesDeleted") : NULL, i, v) {
    const char *deleted = json_string_value(json_object_get(v, "Deleted"));
    if (deleted) events_emit(r->d, "image", "delete", deleted, json_pack("{s:s}", "name", deleted));
  }
  if (rc == 0) { /* Docker's prune event: the bytes as a string attribute */
    json_int_t bytes = json_integer_value(json_object_get(out->json, "SpaceReclaimed"));
    _cleanup_free_ char *n = xasprintf("%lld", (long long)bytes);
    events_emit(r->d, "image", "prune", "", json_pack("{s:s}", "reclaimed", n));
  }
  return rc;
}

static enum MHD_Result collect_names(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  char ***v = cls;
  if (strcmp(key, "names") == 0 && value && *value) *v = strv_push(*v, value);
  return MHD_YES;
}

int h_images_save(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_strv_ char **names = NULL;
  const char *one = req_param(r, "name");
  if (one) names = strv_push(names, one);
  else MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_names, &names);
  if (!names) return berr(err, EINVAL, "no image names given");
  int fd = open_tmp(r, err);
  if (fd < 0) return fd;
  int rc = image_save(r->d->images, names, fd, err);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  for (char **n = names; *n; n++) events_emit(r->d, "image", "save", *n, json_pack("{s:s}", "name", *n));
  return tmpfile_response(r, fd, out, err);
}

int h_images_load(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *lines = NULL;
  int rc = image_load(r->d->images, r->body_fd, &lines, err);
  if (rc < 0) return rc;
  size_t i;
  json_t *v;
  /* Docker's JSON message stream: one {"stream": "Loaded image: x\n"} per image */
  json_array_foreach(lines, i, v) {
    const char *what = json_string_value(v) ? json_string_value(v) : "";
    const char *colon = strstr(what, ": ");
    events_emit(r->d, "image", "load", colon ? colon + 2 : what, json_pack("{s:s}", "name", colon ? colon + 2 : what));
    _cleanup_free_ char *line = xasprintf("%s\n", json_string_value(v) ? json_string_value(v) : "");
    buf_puts(&out->body, "{\"stream\":");
    buf_json_string(&out->body, line, strlen(line));
    buf_puts(&out->body, "}\r\n");
  }
  out->content_type = "application/json";
  return 0;
}
