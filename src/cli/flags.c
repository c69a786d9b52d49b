/* flags.c - pflag-compatible parsing of a command's flags from its table */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "common/strv.h"
#include "common/xalloc.h"

void cli_opts_free(struct cli_opts *o) {
  for (size_t i = 0; i < o->nvals; i++) {
    free(o->vals[i].str);
    strv_free(o->vals[i].list);
  }
  free(o->vals);
  strv_free(o->args);
  memset(o, 0, sizeof(*o));
}

static const struct cli_flag *find_long(const struct cli_cmd *cmd, const char *name, size_t n, size_t *idx) {
  for (size_t i = 0; i < cmd->nflags; i++) {
    const char *l = cmd->flags[i].long_name;
    if (l && strlen(l) == n && strncmp(l, name, n) == 0) {
      *idx = i;
      return &cmd->flags[i];
    }
  }
  return NULL;
}

static const struct cli_flag *find_short(const struct cli_cmd *cmd, char c, size_t *idx) {
  for (size_t i = 0; i < cmd->nflags; i++) {
    if (cmd->flags[i].short_name == c) {
      *idx = i;
      return &cmd->flags[i];
    }
  }
  return NULL;
}

static int parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
  static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
  for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
    if (strcmp(v, yes[i]) == 0) return *out = true, 0;
    if (strcmp(v, no[i]) == 0) return *out = false, 0;
  }
  return -EINVAL;
}

/* set_value: store one occurrence; value NULL only for bool flags given without "=" */
static int set_value(struct cli_opts *o, size_t idx, const struct cli_flag *f, const char *value, const char *shown,
                     struct berth_error **err) {
  struct cli_flag_val *v = &o->vals[idx];
  if (f->kind == FLAG_BOOL) {
    bool b = true;
    if (value && parse_bool(value, &b) < 0)
      return berr(err, EINVAL, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
                  value, shown, value);
    free(v->str);
    v->str = xstrdup(b ? "true" : "false");
  } else if (f->kind == FLAG_STRING) {
    free(v->str);
    v->str = xstrdup(value);
  } else {
    v->list = strv_push(v->list, value);
  }
  v->set = true;
  return 0;
}

static int parse_long(struct cli_opts *o, char **argv, int argc, int *i, struct berth_error **err) {
  const char *a = argv[*i] + 2;
  const char *eq = strchr(a, '=');
  size_t n = eq ? (size_t)(eq - a) : strlen(a);
  size_t idx;
  if (n == 4 && strncmp(a, "help", 4) == 0) return o->help = true, 0;
  const struct cli_flag *f = find_long(o->cmd, a, n, &idx);
  if (!f) return berr(err, EINVAL, "unknown flag: --%.*s", (int)n, a);
  _cleanup_free_ char *shown = xasprintf("--%s", f->long_name);
  if (eq) return set_value(o, idx, f, eq + 1, shown, err);
  if (f->kind == FLAG_BOOL) return set_value(o, idx, f, NULL, shown, err);
  if (*i + 1 >= argc) return berr(err, EINVAL, "flag needs an argument: --%s", f->long_name);
  return set_value(o, idx, f, argv[++*i], shown, err);
}

/* parse_shorts: "-dit", "-eK=V", "-e=K=V", "-e K=V" */
static int parse_shorts(struct cli_opts *o, char **argv, int argc, int *i, struct berth_error **err) {
  const char *a = argv[*i] + 1;
  for (size_t k = 0; a[k]; k++) {
    size_t idx;
    const struct cli_flag *f = find_short(o->cmd, a[k], &idx);
    if (!f) {
      if (a[k] == 'h' && !find_long(o->cmd, "help", 4, &idx)) return o->help = true, 0;
      return berr(err, EINVAL, "unknown shorthand flag: '%c' in -%s", a[k], a);
    }
    char shown[3] = {'-', a[k], 0};
    const char *rest = a + k + 1;
    if (f->kind == FLAG_BOOL) {
      if (*rest == '=') return set_value(o, idx, f, rest + 1, shown, err);
      int r = set_value(o, idx, f, NULL, shown, err);
      if (r < 0) return r;
      continue;
    }
    if (*rest == '=') return set_value(o, idx, f, rest + 1, shown, err);
    if (*rest) return set_value(o, idx, f, rest, shown, err);
    if (*i + 1 >= argc) return berr(err, EINVAL, "flag needs an argument: '%c' in -%c", a[k], a[k]);
    return set_value(o, idx, f, argv[++*i], shown, err);
  }
  return 0;
}

int cli_parse_flags(const struct cli_cmd *cmd, char **argv, int argc, struct cli_opts *o, struct berth_error **err) {
  o->cmd = cmd;
  o->nvals = cmd->nflags;
  o->vals = xcalloc(cmd->nflags ? cmd->nflags : 1, sizeof(*o->vals));
  o->args = xcalloc(1, sizeof(char *));
  bool only_args = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_args || a[0] != '-' || a[1] == '\0') {
      o->args = strv_push(o->args, a);
      if (cmd->stop_at_positional) only_args = true;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_args = true;
      continue;
    }
    int r = a[1] == '-' ? parse_long(o, argv, argc, &i, err) : parse_shorts(o, argv, argc, &i, err);
    if (r < 0) return r;
  }
  return 0;
}

static const struct cli_flag_val *lookup(const struct cli_opts *o, const char *name) {
  size_t idx;
  if (!o->cmd || !find_long(o->cmd, name, strlen(name), &idx)) return NULL;
  return &o->vals[idx];
}

bool opt_set(const struct cli_opts *o, const char *name) {
  const struct cli_flag_val *v = lookup(o, name);
  return v && v->set;
}

bool opt_bool(const struct cli_opts *o, const char *name) {
  const struct cli_flag_val *v = lookup(o, name);
  return v && v->set && v->str && strcmp(v->str, "true") == 0;
}

const char *opt_str(const struct cli_opts *o, const char *name) {
  const struct cli_flag_val *v = lookup(o, name);
  return v && v->set ? v->str : NULL;
}

char **opt_list(const struct cli_opts *o, const char *name) {
  const struct cli_flag_val *v = lookup(o, name);
  return v && v->set ? v->list : NULL;
}

int opt_int(const struct cli_opts *o, const char *name, long long def, long long *out, struct berth_error **err) {
  const char *s = opt_str(o, name);
  if (!s) return *out = def, 0;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end)
    return berr(err, EINVAL, "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax",
                s, name, s);
  *out = v;
  return 0;
}
