/* logopts.c - json-file log options (max-size, max-file) from the container's LogConfig over the
 * daemon's --log-opt defaults; bounded by default (3 files of 20 MB, moby/moby#27957) */
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_SIZE (20LL << 20)
#define DEFAULT_MAX_FILE 3

/* parse_size: go-units' RAMInBytes: "10m", "1.5g", "512k", "100" (bytes), case-insensitive, an
 * optional "b"/"ib"; "-1" is no limit (0) */
int ctr_log_parse_size(const char *s, int64_t *out) {
  if (strcmp(s, "-1") == 0) return *out = 0, 0;
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) return -EINVAL;
  static const struct { char c; int shift; } units[] = {{'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}};
  int shift = 0;
  if (*end) {
    char u = (char)tolower((unsigned char)*end);
    bool known = u == 'b';
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
      if (units[i].c == u) shift = units[i].shift, known = true;
    if (!known) return -EINVAL;
    if (u != 'b') end++;
    if (tolower((unsigned char)*end) == 'i') end++;
    if (tolower((unsigned char)*end) == 'b') end++;
    if (*end) return -EINVAL;
  }
  *out = (int64_t)(v * (double)(1LL << shift));
  return 0;
}

/* apply: one KEY=VALUE (or key, value) of json-file's options */
static int apply(const char *key, const char *val, struct ctr_log_limits *l, struct berth_error **err) {
  static const char *const ignored[] = {"labels", "labels-regex", "env", "env-regex", "tag", "mode",
                                        "max-buffer-size"};
  if (strcmp(key, "max-size") == 0) {
    if (ctr_log_parse_size(val, &l->max_size) < 0) return berr(err, EINVAL, "invalid max-size \"%s\"", val);
    return 0;
  }
  if (strcmp(key, "max-file") == 0) {
    char *end;
    long n = strtol(val, &end, 10);
    if (!*val || *end || n < 1) return berr(err, EINVAL, "max-file cannot be less than 1");
    l->max_file = (int)n;
    return 0;
  }
  if (strcmp(key, "compress") == 0) {
    if (strcmp(val, "true") == 0) return berr(err, ENOTSUP, "log-opt compress=true is not supported yet");
    return 0;
  }
  for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
    if (strcmp(key, ignored[i]) == 0) return 0; /* they decorate the lines berth writes plain */
  return berr(err, EINVAL, "unknown log opt '%s' for json-file log driver", key);
}

int ctr_log_limits(const json_t *hc, char **daemon_opts, struct ctr_log_limits *out, struct berth_error **err) {
  *out = (struct ctr_log_limits){DEFAULT_MAX_SIZE, DEFAULT_MAX_FILE};
  bool file_given = false;
  for (char **o = daemon_opts; o && *o; o++) {
    const char *eq = strchr(*o, '=');
    if (!eq) return berr(err, EINVAL, "invalid --log-opt \"%s\": KEY=VALUE expected", *o);
    _cleanup_free_ char *key = xstrndup(*o, (size_t)(eq - *o));
    int r = apply(key, eq + 1, out, err);
    if (r < 0) return r;
  }
  const json_t *cfg = json_object_get(json_object_get(hc, "LogConfig"), "Config");
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)cfg, k, v) {
    if (!json_is_string(v)) return berr(err, EINVAL, "log opt '%s': a string is expected", k);
    int r = apply(k, json_string_value(v), out, err);
    if (r < 0) return r;
    file_given = file_given || strcmp(k, "max-file") == 0;
  }
  /* Docker: max-file only means something with max-size; the daemon default size stays */
  if (file_given && out->max_file > 1 && out->max_size == 0)
    return berr(err, EINVAL, "max-file cannot be set when max-size is not set");
  return 0;
}
