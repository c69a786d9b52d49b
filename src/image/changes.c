/* changes.c - Dockerfile instructions given to import/commit as --change, applied to a container
 * config (the subset Docker accepts there: CMD ENTRYPOINT ENV EXPOSE LABEL ONBUILD STOPSIGNAL
 * USER VOLUME WORKDIR) */
#include "image/image_int.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *image_default_config(void) {
  /* Docker marshals its whole container.Config: the empty fields are part of the shape */
  return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:n, s:s, s:n, s:n, s:n}",
                   "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0, "AttachStdout", 0,
                   "AttachStderr", 0, "Tty", 0, "OpenStdin", 0, "StdinOnce", 0, "Env", "Cmd", "Image", "",
                   "Volumes", "WorkingDir", "", "Entrypoint", "OnBuild", "Labels");
}

/* words: split on blanks, honouring "double" (with \ escapes) and 'single' quotes */
static int words(const char *s, char ***out, struct berth_error **err) {
  _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
  size_t n = strlen(s);
  _cleanup_free_ char *w = xmalloc(n + 1);
  size_t i = 0;
  while (i < n) {
    while (i < n && isspace((unsigned char)s[i])) i++;
    if (i == n) break;
    size_t k = 0;
    char quote = 0;
    for (; i < n && (quote || !isspace((unsigned char)s[i])); i++) {
      char c = s[i];
      if (quote && c == quote) quote = 0;
      else if (!quote && (c == '"' || c == '\'')) quote = c;
      else if (c == '\\' && quote != '\'' && i + 1 < n) w[k++] = s[++i];
      else w[k++] = c;
    }
    if (quote) return berr(err, EINVAL, "unmatched quote in \"%s\"", s);
    w[k] = '\0';
    v = strv_push(v, w);
  }
  *out = take_ptr(&v);
  return 0;
}

/* json_or_shell: exec form ["a","b"] when args is a JSON array of strings, else NULL */
static json_t *exec_form(const char *args) {
  if (args[0] != '[') return NULL;
  json_t *j = json_loads(args, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_array(j)) {
    json_decref(j);
    return NULL;
  }
  size_t i;
  json_t *x;
  json_array_foreach(j, i, x) if (!json_is_string(x)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static json_t *cmd_value(const char *args) {
  json_t *j = exec_form(args);
  return j ? j : json_pack("[s, s, s]", "/bin/sh", "-c", args);
}

/* key=value pairs, or the legacy "KEY value with spaces" form */
typedef void (*kv_fn)(json_t *config, const char *key, const char *value);

static int key_values(json_t *config, const char *kw, const char *args, kv_fn fn, struct berth_error **err) {
  _cleanup_strv_ char **w = NULL;
  int r = words(args, &w, err);
  if (r < 0) return r;
  if (!w[0]) return berr(err, EINVAL, "%s requires at least one argument", kw);
  if (!strchr(w[0], '=')) {
    const char *p = args;
    while (*p && !isspace((unsigned char)*p)) p++;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) return berr(err, EINVAL, "%s must have two arguments", kw);
    fn(config, w[0], p);
    return 0;
  }
  for (size_t i = 0; w[i]; i++) {
    char *eq = strchr(w[i], '=');
    if (!eq || eq == w[i]) return berr(err, EINVAL, "%s names can not be blank", kw);
    *eq = '\0';
    fn(config, w[i], eq + 1);
  }
  return 0;
}

static void set_env(json_t *config, const char *key, const char *value) {
  json_t *env = json_object_get(config, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(config, "Env", env);
  }
  size_t kl = strlen(key), i;
  json_t *x;
  char *entry = xasprintf("%s=%s", key, value);
  json_array_foreach(env, i, x) {
    const char *s = json_string_value(x);
    if (s && strncmp(s, key, kl) == 0 && s[kl] == '=') {
      json_array_set_new(env, i, json_string(entry));
      free(entry);
      return;
    }
  }
  json_array_append_new(env, json_string(entry));
  free(entry);
}

static json_t *object_field(json_t *config, const char *field) {
  json_t *o = json_object_get(config, field);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(config, field, o);
  }
  return o;
}

static void set_label(json_t *config, const char *key, const char *value) {
  json_object_set_new(object_field(config, "Labels"), key, json_string(value));
}

static int parse_port(const char *s, long *lo, long *hi) {
  char *end;
  *lo = strtol(s, &end, 10);
  *hi = *lo;
  if (*end == '-') *hi = strtol(end + 1, &end, 10);
  return (*end || end == s || *lo < 1 || *hi > 65535 || *lo > *hi) ? -1 : 0;
}

static int do_expose(json_t *config, const char *args, struct berth_error **err) {
  _cleanup_strv_ char **w = NULL;
  int r = words(args, &w, err);
  if (r < 0) return r;
  if (!w[0]) return berr(err, EINVAL, "EXPOSE requires at least one argument");
  for (size_t i = 0; w[i]; i++) {
    char *slash = strchr(w[i], '/');
    const char *proto = slash ? slash + 1 : "tcp";
    if (slash) *slash = '\0';
    long lo, hi;
    if (parse_port(w[i], &lo, &hi) < 0) return berr(err, EINVAL, "invalid containerPort: %s", w[i]);
    if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
      return berr(err, EINVAL, "invalid proto: %s", proto);
    for (long p = lo; p <= hi; p++) {
      char key[32];
      snprintf(key, sizeof(key), "%ld/%s", p, proto);
      for (char *c = key; *c; c++) *c = (char)tolower((unsigned char)*c);
      json_object_set_new(object_field(config, "ExposedPorts"), key, json_object());
    }
  }
  return 0;
}

static int do_volume(json_t *config, const char *args, struct berth_error **err) {
  json_t *list = exec_form(args);
  _cleanup_strv_ char **w = NULL;
  if (!list) {
    int r = words(args, &w, err);
    if (r < 0) return r;
    list = json_array();
    for (size_t i = 0; w[i]; i++) json_array_append_new(list, json_string(w[i]));
  }
  if (json_array_size(list) == 0) {
    json_decref(list);
    return berr(err, EINVAL, "VOLUME requires at least one argument");
  }
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) {
    if (!json_string_value(x)[0]) {
      json_decref(list);
      return berr(err, EINVAL, "VOLUME specified can not be an empty string");
    }
    json_object_set_new(object_field(config, "Volumes"), json_string_value(x), json_object());
  }
  json_decref(list);
  return 0;
}

static int do_workdir(json_t *config, const char *args, struct berth_error **err) {
  if (!*args) return berr(err, EINVAL, "WORKDIR requires exactly one argument");
  const char *cur = json_string_value(json_object_get(config, "WorkingDir"));
  _cleanup_free_ char *wd = NULL;
  if (args[0] == '/') wd = xstrdup(args);
  else wd = xasprintf("%s/%s", cur && *cur ? cur : "", args);
  json_object_set_new(config, "WorkingDir", json_string(wd));
  return 0;
}

int image_apply_change(json_t *config, const char *change, int *cmd_set, struct berth_error **err) {
  while (isspace((unsigned char)*change)) change++;
  size_t kl = 0;
  while (change[kl] && !isspace((unsigned char)change[kl])) kl++;
  _cleanup_free_ char *kw = xstrndup(change, kl);
  for (char *c = kw; *c; c++) *c = (char)toupper((unsigned char)*c);
  _cleanup_free_ char *args = xstrdup(change + kl);
  char *a = args;
  while (isspace((unsigned char)*a)) a++;
  for (size_t n = strlen(a); n > 0 && isspace((unsigned char)a[n - 1]); n--) a[n - 1] = '\0';
  if (!kw[0]) return berr(err, EINVAL, "empty change instruction");
  bool needs_arg = strcmp(kw, "CMD") != 0 && strcmp(kw, "ENTRYPOINT") != 0;
  if (needs_arg && !*a) return berr(err, EINVAL, "%s requires at least one argument", kw);
  if (strcmp(kw, "CMD") == 0 || strcmp(kw, "ENTRYPOINT") == 0) {
    if (!*a) return berr(err, EINVAL, "%s requires at least one argument", kw);
    bool is_cmd = kw[0] == 'C';
    json_object_set_new(config, is_cmd ? "Cmd" : "Entrypoint", cmd_value(a));
    /* like a Dockerfile: a new ENTRYPOINT drops an inherited CMD unless CMD came in this list */
    if (is_cmd) *cmd_set = 1;
    else if (!*cmd_set) json_object_set_new(config, "Cmd", json_null());
    return 0;
  }
  if (strcmp(kw, "ENV") == 0) return key_values(config, "ENV", a, set_env, err);
  if (strcmp(kw, "LABEL") == 0) return key_values(config, "LABEL", a, set_label, err);
  if (strcmp(kw, "EXPOSE") == 0) return do_expose(config, a, err);
  if (strcmp(kw, "VOLUME") == 0) return do_volume(config, a, err);
  if (strcmp(kw, "WORKDIR") == 0) return do_workdir(config, a, err);
  if (strcmp(kw, "USER") == 0) return json_object_set_new(config, "User", json_string(a)), 0;
  if (strcmp(kw, "STOPSIGNAL") == 0) return json_object_set_new(config, "StopSignal", json_string(a)), 0;
  if (strcmp(kw, "ONBUILD") == 0) {
    json_t *ob = json_object_get(config, "OnBuild");
    if (!json_is_array(ob)) json_object_set_new(config, "OnBuild", ob = json_array());
    json_array_append_new(ob, json_string(a));
    return 0;
  }
  return berr(err, EINVAL, "%s is not a valid change command", kw);
}

int image_apply_changes(json_t *config, char *const *changes, struct berth_error **err) {
  int cmd_set = 0;
  for (size_t i = 0; changes && changes[i]; i++) {
    int r = image_apply_change(config, changes[i], &cmd_set, err);
    if (r < 0) return r;
  }
  return 0;
}
