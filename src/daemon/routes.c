/* routes.c - the API route table, path matching with {name} parameters, and the /v1.NN/ prefix */
#include "api/api.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include <errno.h>
#include <string.h>

static const struct route routes[] = {
    {"GET", "/_ping", h_ping, 0},
    {"HEAD", "/_ping", h_ping, 0},
    {"GET", "/version", h_version, 0},
    {"GET", "/info", h_info, 0},
    {"POST", "/images/create", h_images_create, ROUTE_STREAM_BODY},
    /* known to the Engine API, not built yet: 501 with a sentence rather than 404 or 405 */
    {"POST", "/build", h_not_yet, 0},
    {"POST", "/build/prune", h_build_prune, 0},
    {"GET", "/images/search", h_not_yet, 0},
    {"POST", "/images/{name*}/push", h_not_yet, 0},
    {"HEAD", "/containers/{id}/archive", h_not_yet, 0},
    {"GET", "/containers/{id}/archive", h_not_yet, 0},
    {"PUT", "/containers/{id}/archive", h_not_yet, 0},
    {"GET", "/images/json", h_images_list, 0},
    /* image names hold '/' (learn/tutorial): the parameter takes every segment before the suffix */
    {"GET", "/images/{name*}/json", h_image_inspect, 0},
    {"POST", "/images/{name*}/tag", h_image_tag, 0},
    {"POST", "/containers/create", h_ctr_create, 0},
    {"GET", "/containers/json", h_ctr_list, 0},
    {"GET", "/containers/{id}/json", h_ctr_inspect, 0},
    {"POST", "/containers/{id}/start", h_ctr_start, 0},
    {"POST", "/containers/{id}/stop", h_ctr_stop, 0},
    {"POST", "/containers/{id}/restart", h_ctr_restart, 0},
    {"POST", "/containers/{id}/kill", h_ctr_kill, 0},
    {"POST", "/containers/{id}/wait", h_ctr_wait, 0},
    {"POST", "/containers/{id}/attach", h_ctr_attach, 0},
    {"GET", "/containers/{id}/logs", h_ctr_logs, 0},
    {"DELETE", "/containers/{id}", h_ctr_delete, 0},
    {"POST", "/containers/{id}/resize", h_ctr_resize, 0},
    {"POST", "/containers/{id}/exec", h_exec_create, 0},
    {"POST", "/exec/{id}/start", h_exec_start, 0},
    {"POST", "/exec/{id}/resize", h_exec_resize, 0},
    {"GET", "/exec/{id}/json", h_exec_inspect, 0},
    {"POST", "/containers/{id}/pause", h_ctr_pause, 0},
    {"POST", "/containers/{id}/unpause", h_ctr_unpause, 0},
    {"POST", "/containers/{id}/rename", h_ctr_rename, 0},
    {"POST", "/containers/{id}/update", h_ctr_update, 0},
    {"GET", "/containers/{id}/top", h_ctr_top, 0},
    {"GET", "/containers/{id}/stats", h_ctr_stats, 0},
    {"GET", "/containers/{id}/changes", h_ctr_changes, 0},
    {"GET", "/containers/{id}/export", h_ctr_export, 0},
    {"POST", "/commit", h_commit, 0},
    {"POST", "/containers/prune", h_ctrs_prune, 0},
    {"GET", "/system/df", h_system_df, 0},
    {"DELETE", "/images/{name*}", h_image_remove, 0},
    {"GET", "/images/{name*}/history", h_image_history, 0},
    {"GET", "/images/{name*}/get", h_images_save, 0},
    {"GET", "/images/get", h_images_save, 0},
    {"POST", "/images/load", h_images_load, ROUTE_STREAM_BODY},
    {"POST", "/images/prune", h_images_prune, 0},
    {"GET", "/events", h_events, 0},
    {"GET", "/networks", h_networks_list, 0},
    {"GET", "/networks/{id}", h_network_inspect, 0},
    {"DELETE", "/networks/{id}", h_network_remove, 0},
    {"POST", "/networks/create", h_network_create, 0},
    {"POST", "/networks/{id}/connect", h_network_connect, 0},
    {"POST", "/networks/{id}/disconnect", h_network_disconnect, 0},
    {"POST", "/networks/prune", h_networks_prune, 0},
    {"GET", "/volumes", h_volumes_list, 0},
    {"POST", "/volumes/create", h_volumes_create, 0},
    {"POST", "/volumes/prune", h_volumes_prune, 0},
    {"GET", "/volumes/{name}", h_volume_inspect, 0},
    {"DELETE", "/volumes/{name}", h_volume_remove, 0},
};

/* h_not_yet: Engine API endpoints berth knows but has not implemented: say so, not 404 */
int h_not_yet(struct req *r, struct reply *out, struct berth_error **err) {
  return berr(err, ENOTSUP, "%s %s is not supported yet", r->method, r->path);
}

void req_clear_params(struct req *r) {
  for (int i = 0; i < r->nparams; i++) {
    free(r->param_names[i]);
    free(r->params[i]);
    r->param_names[i] = r->params[i] = NULL;
  }
  r->nparams = 0;
}

/* split: path segments (no empty ones); returns count, at most max */
static int split(const char *path, char *copy, char **segs, int max) {
  int n = 0;
  strcpy(copy, path);
  for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
    if (n == max) return -1;
    segs[n++] = t;
  }
  return n;
}

static void add_param(struct req *r, const char *name, size_t name_len, char *const *segs, int from, int to) {
  if (r->nparams == DAEMON_MAX_PARAMS) return;
  struct buf v = {0};
  for (int i = from; i < to; i++) {
    if (i > from) buf_putc(&v, '/');
    buf_puts(&v, segs[i]);
  }
  r->param_names[r->nparams] = xstrndup(name, name_len);
  r->params[r->nparams++] = v.p ? buf_steal(&v) : xstrdup("");
}

/* match: pattern segments against path segments; params go to r on success */
static bool match(const char *pattern, char *const *ps, int np, struct req *r) {
  char pcopy[256];
  char *pat[32];
  int npat = split(pattern, pcopy, pat, 32);
  int j = 0;
  req_clear_params(r);
  for (int i = 0; i < npat; i++) {
    size_t len = strlen(pat[i]);
    bool is_param = pat[i][0] == '{' && pat[i][len - 1] == '}';
    bool greedy = is_param && len > 3 && pat[i][len - 2] == '*';
    if (greedy) {
      int take = np - j - (npat - i - 1);
      if (take < 1) goto fail;
      add_param(r, pat[i] + 1, len - 3, ps, j, j + take);
      j += take;
      continue;
    }
    if (j >= np) goto fail;
    if (is_param) add_param(r, pat[i] + 1, len - 2, ps, j, j + 1);
    else if (strcmp(pat[i], ps[j]) != 0) goto fail;
    j++;
  }
  if (j == np) return true;
fail:
  req_clear_params(r);
  return false;
}

int route_find(const char *method, const char *path, struct req *r, const struct route **out) {
  _cleanup_free_ char *copy = xmalloc(strlen(path) + 1);
  char *segs[64];
  int n = split(path, copy, segs, 64);
  bool path_matched = false;
  if (n < 0) return -ENOENT;
  for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
    if (!match(routes[i].pattern, segs, n, r)) continue;
    if (strcmp(routes[i].method, method) == 0) {
      *out = &routes[i];
      return 0;
    }
    path_matched = true;
  }
  req_clear_params(r);
  return path_matched ? -EINVAL : -ENOENT;
}

int route_split_version(const char *url, char **version, char **rest, struct berth_error **err) {
  *version = NULL;
  const char *p = url;
  if (p[0] == '/' && p[1] == 'v' && p[2] >= '0' && p[2] <= '9') {
    const char *q = p + 2;
    while ((*q >= '0' && *q <= '9') || *q == '.') q++;
    if (*q == '/' || *q == '\0') {
      _cleanup_free_ char *v = xstrndup(p + 2, q - (p + 2));
      if (api_version_cmp(v, BERTH_API_VERSION) > 0)
        return berr(err, EINVAL, "client version %s is too new. Maximum supported API version is %s", v,
                    BERTH_API_VERSION);
      if (api_version_cmp(v, BERTH_API_MIN_VERSION) < 0)
        return berr(err, EINVAL,
                    "client version %s is too old. Minimum supported API version is %s, please upgrade your "
                    "client to a newer version",
                    v, BERTH_API_MIN_VERSION);
      *version = take_ptr(&v);
      p = *q ? q : "/";
    }
  }
  *rest = xstrdup(p);
  return 0;
}
