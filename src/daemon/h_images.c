/* h_images.c - image endpoints: create (import from the request body), list, inspect, tag */
#include "common/strv.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include <errno.h>
#include <microhttpd.h>
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
  /* Docker's import answers with a JSON progress stream whose last message is the image id */
  buf_puts(&out->body, "{\"status\":");
  buf_json_string(&out->body, id, strlen(id));
  buf_puts(&out->body, "}\r\n");
  out->content_type = "application/json";
  return 0;
}

int h_images_list(struct req *r, struct reply *out, struct berth_error **err) {
  const char *filters = req_query(r, "filters");
  if (filters && *filters && strcmp(filters, "{}") != 0)
    return berr(err, ENOTSUP, "image list filters are not supported yet");
  return image_list_json(r->d->images, req_query_bool(r, "all", false), &out->json, err);
}

int h_image_inspect(struct req *r, struct reply *out, struct berth_error **err) {
  return image_inspect_json(r->d->images, req_param(r, "name"), &out->json, err);
}

int h_image_tag(struct req *r, struct reply *out, struct berth_error **err) {
  const char *repo = req_query(r, "repo");
  if (!repo || !*repo) return berr(err, EINVAL, "repository name must be given (repo=)");
  int rc = image_tag(r->d->images, req_param(r, "name"), repo, req_query(r, "tag"), err);
  if (rc < 0) return rc;
  out->status = 201;
  return 0;
}
