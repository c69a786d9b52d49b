/* changes.c - Dockerfile instructions given to import/commit as --change, applied to a container
 * config (the subset Docker accepts there: CMD ENTRYPOINT ENV EXPOSE HEALTHCHECK LABEL ONBUILD
 * STOPSIGNAL USER VOLUME WORKDIR), with the Dockerfile's $VAR expansion against the config's Env */
#include "image/image_int.h"
#include "common/buf.h"
#include "common/strv.h"
#include "common/timeutil.h"
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

/* A Dockerfile word lexer (buildkit's shell lexer, the part --change needs): quotes, backslash
 * escapes and, when env is set, $VAR ${VAR} ${VAR:-word} ${VAR:+word} from env ("K=V" strings).
 * split: blanks separate words; else the whole text is one word (ENV's legacy form). */
struct lexer {
  const char *s;
  size_t i, n;
  json_t *env;
};

static const char *env_lookup(json_t *env, const char *name, size_t nl) {
  size_t i;
  json_t *x;
  const char *found = NULL;
  json_array_foreach(env, i, x) {
    const char *kv = json_string_value(x);
    if (kv && strncmp(kv, name, nl) == 0 && kv[nl] == '=') found = kv + nl + 1;
  }
  return found;
}

static bool is_name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

static int lex_word_text(json_t *env, const char *s, size_t n, struct buf *out, struct berth_error **err);

/* expand: at "$" (lx->i after it): append the variable's value */
static int expand(struct lexer *lx, struct buf *out, struct berth_error **err) {
  const char *s = lx->s;
  if (lx->i < lx->n && s[lx->i] == '{') {
    size_t start = ++lx->i, depth = 1;
    while (lx->i < lx->n && depth) {
      if (s[lx->i] == '{') depth++;
      else if (s[lx->i] == '}') depth--;
      if (depth) lx->i++;
    }
    if (lx->i >= lx->n) return berr(err, EINVAL, "missing '}' in \"%s\"", s);
    size_t end = lx->i++, nl = start;
    while (nl < end && is_name_char(s[nl])) nl++;
    if (nl == start) return berr(err, EINVAL, "bad substitution in \"%s\"", s);
    const char *v = env_lookup(lx->env, s + start, nl - start);
    if (nl == end) {
      if (v) buf_puts(out, v);
      return 0;
    }
    if (nl + 1 >= end + 1 || s[nl] != ':' || (s[nl + 1] != '-' && s[nl + 1] != '+'))
      return berr(err, EINVAL, "unsupported modifier in \"%s\"", s);
    bool use_word = s[nl + 1] == '-' ? !v || !*v : v && *v;
    if (!use_word) {
      if (v && s[nl + 1] == '-') buf_puts(out, v);
      return 0;
    }
    return lex_word_text(lx->env, s + nl + 2, end - nl - 2, out, err);
  }
  size_t start = lx->i;
  while (lx->i < lx->n && is_name_char(s[lx->i])) lx->i++;
  if (lx->i == start) {
    buf_putc(out, '$'); /* a lone "$" stays */
    return 0;
  }
  const char *v = env_lookup(lx->env, s + start, lx->i - start);
  if (v) buf_puts(out, v);
  return 0;
}

/* next_word: one word from lx into out; blanks end it when split */
static int next_word(struct lexer *lx, bool split, struct buf *out, struct berth_error **err) {
  char quote = 0;
  const char *s = lx->s;
  for (; lx->i < lx->n && (quote || !split || !isspace((unsigned char)s[lx->i])); lx->i++) {
    char c = s[lx->i];
    if (quote && c == quote) quote = 0;
    else if (!quote && (c == '"' || c == '\'')) quote = c;
    else if (c == '\\' && quote != '\'' && lx->i + 1 < lx->n &&
             (quote != '"' || strchr("\"$\\", s[lx->i + 1])))
      buf_putc(out, s[++lx->i]);
    else if (c == '$' && quote != '\'' && lx->env) {
      lx->i++;
      int r = expand(lx, out, err);
      if (r < 0) return r;
      lx->i--;
    } else buf_putc(out, c);
  }
  if (quote) return berr(err, EINVAL, "unmatched quote in \"%s\"", s);
  return 0;
}

static int lex_word_text(json_t *env, const char *s, size_t n, struct buf *out, struct berth_error **err) {
  struct lexer lx = {s, 0, n, env ? env : NULL};
  if (!lx.env) lx.env = json_array(); /* expansion on, nothing set */
  int r = next_word(&lx, false, out, err);
  if (!env) json_decref(lx.env);
  return r;
}

/* words: split s on blanks (quotes kept together), expanding variables from env when set */
static int words(const char *s, json_t *env, char ***out, struct berth_error **err) {
  _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
  struct lexer lx = {s, 0, strlen(s), env};
  while (lx.i < lx.n) {
    while (lx.i < lx.n && isspace((unsigned char)s[lx.i])) lx.i++;
    if (lx.i == lx.n) break;
    _cleanup_buf_ struct buf w = {0};
    int r = next_word(&lx, true, &w, err);
    if (r < 0) return r;
    v = strv_push(v, w.p ? w.p : "");
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

/* key=value pairs, or the legacy "KEY value with spaces" form; values see the Env the config had
 * before this instruction (Docker: `ENV A=2 B=$A` gives B the old A) */
typedef void (*kv_fn)(json_t *config, const char *key, const char *value);

static int key_values(json_t *config, const char *kw, const char *args, kv_fn fn, struct berth_error **err) {
  json_auto_t *env = json_deep_copy(json_object_get(config, "Env"));
  if (!json_is_array(env)) {
    json_decref(env);
    env = json_array();
  }
  _cleanup_strv_ char **w = NULL;
  int r = words(args, env, &w, err);
  if (r < 0) return r;
  if (!w[0]) return berr(err, EINVAL, "%s requires at least one argument", kw);
  if (!strchr(w[0], '=')) {
    const char *p = args;
    while (*p && !isspace((unsigned char)*p)) p++;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) return berr(err, EINVAL, "%s must have two arguments", kw);
    _cleanup_buf_ struct buf v = {0};
    r = lex_word_text(env, p, strlen(p), &v, err);
    if (r < 0) return r;
    fn(config, w[0], v.p ? v.p : "");
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
  _cleanup_free_ char *entry = xasprintf("%s=%s", key, value);
  json_array_foreach(env, i, x) {
    const char *s = json_string_value(x);
    if (s && strncmp(s, key, kl) == 0 && s[kl] == '=') {
      json_array_set_new(env, i, json_string(entry));
      return;
    }
  }
  json_array_append_new(env, json_string(entry));
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

/* config_env: the Env instructions other than ENV expand against (null: none) */
static json_t *config_env(json_t *config) {
  json_t *env = json_object_get(config, "Env");
  return json_is_array(env) ? env : NULL;
}

static int do_env(json_t *config, const char *args, struct berth_error **err) {
  return key_values(config, "ENV", args, set_env, err);
}

static int do_label(json_t *config, const char *args, struct berth_error **err) {
  return key_values(config, "LABEL", args, set_label, err);
}

static int do_expose(json_t *config, const char *args, struct berth_error **err) {
  json_auto_t *none = json_array();
  json_t *env = config_env(config);
  _cleanup_strv_ char **w = NULL;
  int r = words(args, env ? env : none, &w, err);
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
  json_auto_t *list = exec_form(args);
  json_auto_t *none = json_array();
  json_t *env = config_env(config);
  _cleanup_strv_ char **w = NULL;
  if (!list) {
    int r = words(args, env ? env : none, &w, err);
    if (r < 0) return r;
    list = json_array();
    for (size_t i = 0; w[i]; i++) json_array_append_new(list, json_string(w[i]));
  }
  if (json_array_size(list) == 0) return berr(err, EINVAL, "VOLUME requires at least one argument");
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) {
    if (!json_string_value(x)[0]) return berr(err, EINVAL, "VOLUME specified can not be an empty string");
    json_object_set_new(object_field(config, "Volumes"), json_string_value(x), json_object());
  }
  return 0;
}

/* one_word: args as one word with variables expanded from the config's Env (USER, WORKDIR ...) */
static int one_word(json_t *config, const char *args, char **out, struct berth_error **err) {
  json_auto_t *none = json_array();
  json_t *env = config_env(config);
  _cleanup_buf_ struct buf b = {0};
  int r = lex_word_text(env ? env : none, args, strlen(args), &b, err);
  if (r < 0) return r;
  *out = b.p ? buf_steal(&b) : xstrdup("");
  return 0;
}

static int do_workdir(json_t *config, const char *args, struct berth_error **err) {
  _cleanup_free_ char *w = NULL;
  int r = one_word(config, args, &w, err);
  if (r < 0) return r;
  if (!*w) return berr(err, EINVAL, "WORKDIR requires exactly one argument");
  const char *cur = json_string_value(json_object_get(config, "WorkingDir"));
  _cleanup_free_ char *wd = w[0] == '/' ? xstrdup(w) : xasprintf("%s/%s", cur && *cur ? cur : "", w);
  json_object_set_new(config, "WorkingDir", json_string(wd));
  return 0;
}

static int set_word(json_t *config, const char *field, const char *args, struct berth_error **err) {
  _cleanup_free_ char *w = NULL;
  int r = one_word(config, args, &w, err);
  if (r == 0) json_object_set_new(config, field, json_string(w));
  return r;
}

static int do_user(json_t *config, const char *args, struct berth_error **err) {
  return set_word(config, "User", args, err);
}

static int do_stopsignal(json_t *config, const char *args, struct berth_error **err) {
  return set_word(config, "StopSignal", args, err);
}

static int do_onbuild(json_t *config, const char *args, struct berth_error **err) {
  size_t kl = 0;
  while (args[kl] && !isspace((unsigned char)args[kl])) kl++;
  static const char *const refused[] = {"ONBUILD", "FROM", "MAINTAINER"};
  for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
    if (kl == strlen(refused[i]) && strncasecmp(args, refused[i], kl) == 0)
      return i == 0 ? berr(err, EINVAL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
                    : berr(err, EINVAL, "%s isn't allowed as an ONBUILD trigger", refused[i]);
  json_t *ob = json_object_get(config, "OnBuild");
  if (!json_is_array(ob)) json_object_set_new(config, "OnBuild", ob = json_array());
  json_array_append_new(ob, json_string(args));
  return 0;
}

/* health_flag: one --name=value of HEALTHCHECK into hc */
static int health_flag(json_t *hc, const char *flag, struct berth_error **err) {
  static const struct {
    const char *name, *field;
  } durations[] = {{"interval", "Interval"}, {"timeout", "Timeout"}, {"start-period", "StartPeriod"},
                   {"start-interval", "StartInterval"}};
  const char *eq = strchr(flag, '=');
  _cleanup_free_ char *name = eq ? xstrndup(flag, (size_t)(eq - flag)) : xstrdup(flag);
  const char *v = eq ? eq + 1 : "";
  for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
    if (strcmp(name, durations[i].name) != 0) continue;
    int64_t ns = 0;
    if (time_parse_go_duration(v, &ns) < 0) return berr(err, EINVAL, "time: invalid duration \"%s\"", v);
    if (ns < 1000000)
      return berr(err, EINVAL, "%s \"%s\" cannot be less than 1ms", durations[i].field, durations[i].name);
    json_object_set_new(hc, durations[i].field, json_integer(ns));
    return 0;
  }
  if (strcmp(name, "retries") == 0) {
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end) return berr(err, EINVAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", v);
    if (n < 1) return berr(err, EINVAL, "--retries must be at least 1 (not %ld)", n);
    json_object_set_new(hc, "Retries", json_integer(n));
    return 0;
  }
  return berr(err, EINVAL, "Unknown flag: %s", name);
}

/* do_healthcheck: HEALTHCHECK NONE | HEALTHCHECK [--interval= --timeout= --start-period= --retries=] CMD ... */
static int do_healthcheck(json_t *config, const char *args, struct berth_error **err) {
  json_auto_t *hc = json_object();
  const char *p = args;
  while (strncmp(p, "--", 2) == 0) {
    size_t fl = 0;
    while (p[fl] && !isspace((unsigned char)p[fl])) fl++;
    _cleanup_free_ char *flag = xstrndup(p + 2, fl - 2);
    int r = health_flag(hc, flag, err);
    if (r < 0) return r;
    for (p += fl; isspace((unsigned char)*p); p++) {
    }
  }
  size_t tl = 0;
  while (p[tl] && !isspace((unsigned char)p[tl])) tl++;
  _cleanup_free_ char *type = xstrndup(p, tl);
  for (char *c = type; *c; c++) *c = (char)toupper((unsigned char)*c);
  const char *rest = p + tl;
  while (isspace((unsigned char)*rest)) rest++;
  if (strcmp(type, "NONE") == 0) {
    if (*rest || json_object_size(hc)) return berr(err, EINVAL, "HEALTHCHECK NONE takes no arguments");
    json_object_set_new(config, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
    return 0;
  }
  if (strcmp(type, "CMD") != 0) return berr(err, EINVAL, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", type);
  if (!*rest) return berr(err, EINVAL, "Missing command after HEALTHCHECK CMD");
  json_t *test = exec_form(rest);
  if (test) json_array_insert_new(test, 0, json_string("CMD"));
  else test = json_pack("[s, s]", "CMD-SHELL", rest);
  json_t *out = json_pack("{s:o}", "Test", test);
  json_object_update(out, hc);
  json_object_set_new(config, "Healthcheck", out);
  return 0;
}

/* The instructions Docker's commit and import take (moby's validCommitCommands, which has
 * STOPSIGNAL since Docker 23); the rest answer "<instruction> is not a valid change command" */
static const struct {
  const char *kw;
  int (*fn)(json_t *config, const char *args, struct berth_error **err);
} instructions[] = {
    {"ENV", do_env},         {"LABEL", do_label}, {"EXPOSE", do_expose},           {"VOLUME", do_volume},
    {"WORKDIR", do_workdir}, {"USER", do_user},   {"STOPSIGNAL", do_stopsignal}, {"ONBUILD", do_onbuild},
    {"HEALTHCHECK", do_healthcheck},
};

static int do_cmd(json_t *config, const char *kw, const char *a, int *cmd_set, struct berth_error **err) {
  if (!*a) return berr(err, EINVAL, "%s requires at least one argument", kw);
  bool is_cmd = kw[0] == 'C';
  json_object_set_new(config, is_cmd ? "Cmd" : "Entrypoint", cmd_value(a));
  /* like a Dockerfile: a new ENTRYPOINT drops an inherited CMD unless CMD came in this list */
  if (is_cmd) *cmd_set = 1;
  else if (!*cmd_set) json_object_set_new(config, "Cmd", json_null());
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
  if (strcmp(kw, "CMD") == 0 || strcmp(kw, "ENTRYPOINT") == 0) return do_cmd(config, kw, a, cmd_set, err);
  for (size_t i = 0; i < ARRAY_SIZE(instructions); i++) {
    if (strcmp(kw, instructions[i].kw) != 0) continue;
    if (!*a) return berr(err, EINVAL, "%s requires at least one argument", kw);
    return instructions[i].fn(config, a, err);
  }
  for (char *c = kw; *c; c++) *c = (char)tolower((unsigned char)*c); /* moby names it as parsed */
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
