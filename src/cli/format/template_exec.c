/* template_exec.c - evaluator of the Go template subset over JSON values, printing like Go's fmt */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli/format/format.h"
#include "cli/format/template_int.h"
#include "common/xalloc.h"

/* values are new json_t references; NULL is Go's "no value" (a missing map key) */

struct var {
  char *name;
  json_t *val;
};

struct state {
  json_t *root;
  struct var *vars;
  size_t nvars;
};

static void vars_pop(struct state *st, size_t mark) {
  while (st->nvars > mark) {
    st->nvars--;
    free(st->vars[st->nvars].name);
    json_decref(st->vars[st->nvars].val);
  }
}

static void var_push(struct state *st, const char *name, json_t *val) {
  st->vars = xrealloc(st->vars, (st->nvars + 1) * sizeof(*st->vars));
  st->vars[st->nvars++] = (struct var){xstrdup(name), json_incref(val)};
}

/* ------------------------------------------------------------------ printing like fmt %v */

static void print_real(struct buf *b, double d) {
  if (isnan(d)) return buf_puts(b, "NaN");
  if (isinf(d)) return buf_puts(b, d > 0 ? "+Inf" : "-Inf");
  char tmp[64];
  int nd = 1;
  for (; nd <= 17; nd++) { /* shortest digits that read back the same */
    snprintf(tmp, sizeof(tmp), "%.*e", nd - 1, d);
    if (strtod(tmp, NULL) == d) break;
  }
  int exp = atoi(strchr(tmp, 'e') + 1);
  int eprec = 6;
  if (eprec > nd && nd >= exp + 1) eprec = nd;
  if (exp < -4 || exp >= eprec) {
    /* Go writes at least two exponent digits, as C does */
    buf_puts(b, tmp);
    return;
  }
  int decimals = nd - exp - 1;
  buf_printf(b, "%.*f", decimals > 0 ? decimals : 0, d);
}

static int cmp_keys(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted_keys: object keys in Go's map printing order (heap array of borrowed strings) */
static const char **sorted_keys(json_t *o, size_t *n) {
  *n = json_object_size(o);
  const char **keys = xcalloc(*n + 1, sizeof(char *));
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) keys[i++] = k;
  qsort(keys, *n, sizeof(char *), cmp_keys);
  return keys;
}

void tmpl_print_value(struct buf *b, json_t *v) {
  if (!v) return buf_puts(b, "<no value>");
  switch (json_typeof(v)) {
  case JSON_STRING: buf_append(b, json_string_value(v), json_string_length(v)); break;
  case JSON_INTEGER: buf_printf(b, "%lld", (long long)json_integer_value(v)); break;
  case JSON_REAL: print_real(b, json_real_value(v)); break;
  case JSON_TRUE: buf_puts(b, "true"); break;
  case JSON_FALSE: buf_puts(b, "false"); break;
  case JSON_NULL: buf_puts(b, "<nil>"); break;
  case JSON_ARRAY: {
    buf_putc(b, '[');
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (i) buf_putc(b, ' ');
      tmpl_print_value(b, e);
    }
    buf_putc(b, ']');
    break;
  }
  case JSON_OBJECT: {
    size_t n;
    _cleanup_free_ const char **keys = sorted_keys(v, &n);
    buf_puts(b, "map[");
    for (size_t i = 0; i < n; i++) {
      if (i) buf_putc(b, ' ');
      buf_printf(b, "%s:", keys[i]);
      tmpl_print_value(b, json_object_get(v, keys[i]));
    }
    buf_putc(b, ']');
    break;
  }
  }
}

void tmpl_json(struct buf *b, json_t *v) {
  if (!v) return buf_puts(b, "null");
  _cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  for (const char *p = s; p && *p; p++) { /* Go's json.Marshal escapes HTML characters */
    if (*p == '<') buf_puts(b, "\\u003c");
    else if (*p == '>') buf_puts(b, "\\u003e");
    else if (*p == '&') buf_puts(b, "\\u0026");
    else buf_putc(b, *p);
  }
}

static char *to_string(json_t *v) {
  struct buf b = {0};
  tmpl_print_value(&b, v);
  if (!b.p) buf_puts(&b, "");
  return buf_steal(&b);
}

static bool truth(json_t *v) {
  if (!v) return false;
  switch (json_typeof(v)) {
  case JSON_STRING: return json_string_length(v) > 0;
  case JSON_INTEGER: return json_integer_value(v) != 0;
  case JSON_REAL: return json_real_value(v) != 0;
  case JSON_TRUE: return true;
  case JSON_ARRAY: return json_array_size(v) > 0;
  case JSON_OBJECT: return json_object_size(v) > 0;
  default: return false;
  }
}

/* ------------------------------------------------------------------ functions */

typedef int (*tfunc)(json_t **a, size_t n, json_t **out, struct berth_error **err);

static int need(size_t n, size_t want, const char *name, struct berth_error **err) {
  if (n != want) return berr(err, EINVAL, "wrong number of args for %s: want %zu got %zu", name, want, n);
  return 0;
}

static int f_json(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (need(n, 1, "json", err) < 0) return -EINVAL;
  _cleanup_buf_ struct buf b = {0};
  tmpl_json(&b, a[0]);
  *out = json_string(b.p);
  return 0;
}

static int f_index(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (n < 1) return berr(err, EINVAL, "wrong number of args for index: want at least 1 got 0");
  json_t *v = a[0];
  for (size_t i = 1; i < n; i++) {
    if (json_is_object(v) && json_is_string(a[i])) {
      v = json_object_get(v, json_string_value(a[i]));
    } else if (json_is_array(v) && json_is_integer(a[i])) {
      json_int_t k = json_integer_value(a[i]);
      if (k < 0 || (size_t)k >= json_array_size(v)) return berr(err, ERANGE, "error calling index: index out of range: %lld", (long long)k);
      v = json_array_get(v, (size_t)k);
    } else if (!v || json_is_null(v)) {
      v = NULL;
    } else {
      return berr(err, EINVAL, "error calling index: cannot index this value");
    }
    if (!v) { /* index gives the zero value of a missing key: "" for docker's map[string]string */
      *out = json_string("");
      return 0;
    }
  }
  *out = json_incref(v);
  return 0;
}

static int f_len(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (need(n, 1, "len", err) < 0) return -EINVAL;
  json_t *v = a[0];
  if (json_is_string(v)) *out = json_integer((json_int_t)json_string_length(v));
  else if (json_is_array(v)) *out = json_integer((json_int_t)json_array_size(v));
  else if (json_is_object(v)) *out = json_integer((json_int_t)json_object_size(v));
  else if (!v || json_is_null(v)) *out = json_integer(0);
  else return berr(err, EINVAL, "error calling len: len of type %s", json_is_boolean(v) ? "bool" : "float64");
  return 0;
}

static int map_chars(json_t **a, size_t n, json_t **out, const char *name, int mode, struct berth_error **err) {
  if (need(n, 1, name, err) < 0) return -EINVAL;
  _cleanup_free_ char *s = to_string(a[0]);
  bool word_start = true;
  for (char *p = s; *p; p++) {
    if (mode == 0) *p = (char)toupper((unsigned char)*p);
    else if (mode == 1) *p = (char)tolower((unsigned char)*p);
    else {
      if (word_start) *p = (char)toupper((unsigned char)*p);
      word_start = *p == ' ' || *p == '\t' || *p == '\n' || *p == '-' || *p == '_';
    }
  }
  *out = json_string(s);
  return 0;
}
static int f_upper(json_t **a, size_t n, json_t **out, struct berth_error **err) { return map_chars(a, n, out, "upper", 0, err); }
static int f_lower(json_t **a, size_t n, json_t **out, struct berth_error **err) { return map_chars(a, n, out, "lower", 1, err); }
static int f_title(json_t **a, size_t n, json_t **out, struct berth_error **err) { return map_chars(a, n, out, "title", 2, err); }

static int f_join(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (need(n, 2, "join", err) < 0) return -EINVAL;
  _cleanup_buf_ struct buf b = {0};
  _cleanup_free_ char *sep = to_string(a[1]);
  size_t i;
  json_t *e;
  if (json_is_array(a[0])) {
    json_array_foreach(a[0], i, e) {
      if (i) buf_puts(&b, sep);
      tmpl_print_value(&b, e);
    }
  }
  *out = json_string(b.p ? b.p : "");
  return 0;
}

static int f_split(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (need(n, 2, "split", err) < 0) return -EINVAL;
  _cleanup_free_ char *s = to_string(a[0]);
  _cleanup_free_ char *sep = to_string(a[1]);
  json_t *arr = json_array();
  size_t sl = strlen(sep);
  const char *p = s;
  for (const char *q; sl && (q = strstr(p, sep)); p = q + sl) json_array_append_new(arr, json_stringn(p, (size_t)(q - p)));
  json_array_append_new(arr, json_string(p));
  *out = arr;
  return 0;
}

static int do_print(json_t **a, size_t n, json_t **out, bool ln) {
  _cleanup_buf_ struct buf b = {0};
  for (size_t i = 0; i < n; i++) {
    /* Sprint adds spaces between operands when neither is a string; Sprintln always */
    if (i && (ln || (!json_is_string(a[i - 1]) && !json_is_string(a[i])))) buf_putc(&b, ' ');
    tmpl_print_value(&b, a[i]);
  }
  if (ln) buf_putc(&b, '\n');
  *out = json_string(b.p ? b.p : "");
  return 0;
}
static int f_print(json_t **a, size_t n, json_t **out, struct berth_error **err) { return do_print(a, n, out, false); }
static int f_println(json_t **a, size_t n, json_t **out, struct berth_error **err) { return do_print(a, n, out, true); }

static char *go_quote_json(json_t *v);

static void printf_one(struct buf *b, const char *spec, size_t sl, char verb, json_t *v) {
  char f[32];
  if (sl > 20) sl = 20;
  if (verb == 'd' || verb == 'x' || verb == 'X' || verb == 'o') {
    long long x = json_is_integer(v) ? (long long)json_integer_value(v) : json_is_real(v) ? (long long)json_real_value(v) : 0;
    snprintf(f, sizeof(f), "%.*sll%c", (int)sl, spec, verb);
    buf_printf(b, f, x);
  } else if (verb == 'f' || verb == 'g' || verb == 'e') {
    double x = json_is_number(v) ? json_number_value(v) : 0;
    snprintf(f, sizeof(f), "%.*s%c", (int)sl, spec, verb);
    buf_printf(b, f, x);
  } else {
    _cleanup_free_ char *s = verb == 'q' ? go_quote_json(v) : to_string(v);
    snprintf(f, sizeof(f), "%.*ss", (int)sl, spec);
    buf_printf(b, f, s);
  }
}

static int f_printf(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (n < 1 || !json_is_string(a[0])) return berr(err, EINVAL, "error calling printf: the format must be a string");
  _cleanup_buf_ struct buf b = {0};
  size_t arg = 1;
  for (const char *p = json_string_value(a[0]); *p; p++) {
    if (*p != '%') {
      buf_putc(&b, *p);
      continue;
    }
    if (p[1] == '%') {
      buf_putc(&b, '%');
      p++;
      continue;
    }
    const char *spec = p;
    p++;
    while (*p && strchr("+-# 0123456789.", *p)) p++;
    if (!*p) break;
    if (arg >= n) {
      buf_printf(&b, "%%!%c(MISSING)", *p);
      continue;
    }
    printf_one(&b, spec, (size_t)(p - spec), *p, a[arg++]);
  }
  *out = json_string(b.p ? b.p : "");
  return 0;
}

static int cmp_values(json_t *x, json_t *y, int *res, struct berth_error **err) {
  if (json_is_number(x) && json_is_number(y)) {
    double a = json_number_value(x), b = json_number_value(y);
    *res = a < b ? -1 : a > b;
  } else if (json_is_string(x) && json_is_string(y)) {
    *res = strcmp(json_string_value(x), json_string_value(y));
  } else if (json_is_boolean(x) && json_is_boolean(y)) {
    *res = json_is_true(x) != json_is_true(y);
  } else if ((!x || json_is_null(x)) && (!y || json_is_null(y))) {
    *res = 0;
  } else {
    return berr(err, EINVAL, "error calling eq: incompatible types for comparison");
  }
  return 0;
}

static int compare(json_t **a, size_t n, json_t **out, const char *name, int op, struct berth_error **err) {
  if (n < 2) return berr(err, EINVAL, "wrong number of args for %s: want 2 got %zu", name, n);
  bool r = false;
  for (size_t i = 1; i < n && !r; i++) { /* eq a b c: a == b || a == c */
    int c;
    if (cmp_values(a[0], a[i], &c, err) < 0) return -EINVAL;
    switch (op) {
    case 0: r = c == 0; break;
    case 1: r = c != 0; break;
    case 2: r = c < 0; break;
    case 3: r = c <= 0; break;
    case 4: r = c > 0; break;
    default: r = c >= 0; break;
    }
    if (op != 0) break;
  }
  *out = json_boolean(r);
  return 0;
}
static int f_eq(json_t **a, size_t n, json_t **o, struct berth_error **e) { return compare(a, n, o, "eq", 0, e); }
static int f_ne(json_t **a, size_t n, json_t **o, struct berth_error **e) { return compare(a, n, o, "ne", 1, e); }
static int f_lt(json_t **a, size_t n, json_t **o, struct berth_error **e) { return compare(a, n, o, "lt", 2, e); }
static int f_le(json_t **a, size_t n, json_t **o, struct berth_error **e) { return compare(a, n, o, "le", 3, e); }
static int f_gt(json_t **a, size_t n, json_t **o, struct berth_error **e) { return compare(a, n, o, "gt", 4, e); }
static int f_ge(json_t **a, size_t n, json_t **o, struct berth_error **e) { return compare(a, n, o, "ge", 5, e); }

static int f_not(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (need(n, 1, "not", err) < 0) return -EINVAL;
  *out = json_boolean(!truth(a[0]));
  return 0;
}

static int f_and(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (n < 1) return berr(err, EINVAL, "wrong number of args for and: want at least 1 got 0");
  size_t i = 0;
  while (i + 1 < n && truth(a[i])) i++;
  *out = json_incref(a[i]);
  return 0;
}

static int f_or(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (n < 1) return berr(err, EINVAL, "wrong number of args for or: want at least 1 got 0");
  size_t i = 0;
  while (i + 1 < n && !truth(a[i])) i++;
  *out = json_incref(a[i]);
  return 0;
}

static size_t utf8_prefix(const char *s, size_t runes) {
  size_t i = 0;
  while (s[i] && runes) {
    i++;
    while (((unsigned char)s[i] & 0xC0) == 0x80) i++;
    runes--;
  }
  return i;
}

static int f_truncate(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (need(n, 2, "truncate", err) < 0) return -EINVAL;
  _cleanup_free_ char *s = to_string(a[0]);
  long long k = json_is_integer(a[1]) ? (long long)json_integer_value(a[1]) : 0;
  *out = json_stringn(s, utf8_prefix(s, k > 0 ? (size_t)k : 0));
  return 0;
}

static int f_pad(json_t **a, size_t n, json_t **out, struct berth_error **err) {
  if (need(n, 3, "pad", err) < 0) return -EINVAL;
  _cleanup_free_ char *s = to_string(a[0]);
  long long l = json_integer_value(a[1]), r = json_integer_value(a[2]);
  _cleanup_buf_ struct buf b = {0};
  for (long long i = 0; i < l; i++) buf_putc(&b, ' ');
  buf_puts(&b, s);
  for (long long i = 0; i < r; i++) buf_putc(&b, ' ');
  *out = json_string(b.p ? b.p : "");
  return 0;
}

static const struct {
  const char *name;
  tfunc fn;
} funcs[] = {
    {"json", f_json},   {"index", f_index},     {"len", f_len},       {"upper", f_upper}, {"lower", f_lower},
    {"title", f_title}, {"join", f_join},       {"split", f_split},   {"print", f_print}, {"println", f_println},
    {"printf", f_printf}, {"eq", f_eq},         {"ne", f_ne},         {"lt", f_lt},       {"le", f_le},
    {"gt", f_gt},       {"ge", f_ge},           {"not", f_not},       {"and", f_and},     {"or", f_or},
    {"truncate", f_truncate}, {"pad", f_pad},
};

static char *go_quote_json(json_t *v) {
  _cleanup_free_ char *s = to_string(v);
  _cleanup_buf_ struct buf b = {0};
  buf_json_string(&b, s, strlen(s));
  return buf_steal(&b);
}

/* ------------------------------------------------------------------ evaluation */

static int eval_pipeline(struct state *st, const struct pipeline *p, json_t *dot, json_t **out, struct berth_error **err);

static int walk(json_t *v, char **chain, json_t **out, struct berth_error **err) {
  json_t *cur = v;
  for (size_t i = 0; chain && chain[i]; i++) {
    if (!cur || json_is_null(cur)) {
      cur = NULL;
      break;
    }
    if (!json_is_object(cur)) return berr(err, EINVAL, "can't evaluate field %s in type %s", chain[i],
                                         json_is_string(cur) ? "string" : json_is_array(cur) ? "[]interface {}" : "float64");
    cur = json_object_get(cur, chain[i]);
  }
  *out = json_incref(cur);
  return 0;
}

static int call_func(const char *name, json_t **args, size_t n, json_t **out, struct berth_error **err) {
  for (size_t i = 0; i < ARRAY_SIZE(funcs); i++) {
    if (strcmp(funcs[i].name, name) == 0) {
      int r = funcs[i].fn(args, n, out, err);
      return r < 0 ? berr_prefix(err, "template: executing \"\" at <%s>", name) : 0;
    }
  }
  return berr(err, EINVAL, "template: function \"%s\" not defined", name);
}

static int eval_operand(struct state *st, const struct operand *o, json_t *dot, json_t **out, struct berth_error **err) {
  switch (o->kind) {
  case O_DOT: *out = json_incref(dot); return 0;
  case O_FIELD: return walk(dot, o->chain, out, err);
  case O_LIT: *out = json_incref(o->lit); return 0;
  case O_FUNC: return call_func(o->name, NULL, 0, out, err);
  case O_VAR: {
    json_t *base = NULL;
    bool found = strcmp(o->name, "$") == 0;
    if (found) base = st->root;
    for (size_t i = st->nvars; !found && i > 0; i--) {
      if (strcmp(st->vars[i - 1].name, o->name) == 0) {
        base = st->vars[i - 1].val;
        found = true;
      }
    }
    if (!found) return berr(err, EINVAL, "template: undefined variable \"%s\"", o->name);
    return walk(base, o->chain, out, err);
  }
  case O_PIPE: {
    _cleanup_json_ json_t *v = NULL;
    int r = eval_pipeline(st, o->sub, dot, &v, err);
    if (r < 0) return r;
    return walk(v, o->chain, out, err);
  }
  }
  return -EINVAL;
}

static int eval_command(struct state *st, const struct command *c, json_t *dot, json_t *piped, bool has_piped,
                        json_t **out, struct berth_error **err) {
  const struct operand *first = &c->args[0];
  if (first->kind != O_FUNC) {
    if (c->nargs > 1 || has_piped) return berr(err, EINVAL, "template: can't give argument to non-function");
    return eval_operand(st, first, dot, out, err);
  }
  size_t n = c->nargs - 1 + (has_piped ? 1 : 0);
  json_t **args = xcalloc(n + 1, sizeof(json_t *));
  int r = 0;
  for (size_t i = 1; i < c->nargs && r == 0; i++) r = eval_operand(st, &c->args[i], dot, &args[i - 1], err);
  if (r == 0 && has_piped) args[n - 1] = json_incref(piped);
  if (r == 0) r = call_func(first->name, args, n, out, err);
  for (size_t i = 0; i < n; i++) json_decref(args[i]);
  free(args);
  return r;
}

static int eval_pipeline(struct state *st, const struct pipeline *p, json_t *dot, json_t **out, struct berth_error **err) {
  json_t *cur = NULL;
  for (size_t i = 0; i < p->ncmds; i++) {
    json_t *res = NULL;
    int r = eval_command(st, &p->cmds[i], dot, cur, i > 0, &res, err);
    json_decref(cur);
    if (r < 0) return r;
    cur = res;
  }
  *out = cur;
  return 0;
}

static int exec_list(struct state *st, const struct list *l, json_t *dot, struct buf *b, struct berth_error **err);

static int exec_range_item(struct state *st, const struct node *n, json_t *key, json_t *val, struct buf *b,
                           struct berth_error **err) {
  size_t mark = st->nvars;
  if (n->pipe->ndecl == 1) var_push(st, n->pipe->decl[0], val);
  if (n->pipe->ndecl == 2) {
    var_push(st, n->pipe->decl[0], key);
    var_push(st, n->pipe->decl[1], val);
  }
  int r = exec_list(st, &n->body, val, b, err);
  vars_pop(st, mark);
  return r;
}

static int exec_range(struct state *st, const struct node *n, json_t *v, struct buf *b, struct berth_error **err) {
  int r = 0;
  if (json_is_array(v) && json_array_size(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      _cleanup_json_ json_t *k = json_integer((json_int_t)i);
      if ((r = exec_range_item(st, n, k, e, b, err)) < 0) return r;
    }
    return 0;
  }
  if (json_is_object(v) && json_object_size(v)) {
    size_t cnt;
    _cleanup_free_ const char **keys = sorted_keys(v, &cnt);
    for (size_t i = 0; i < cnt; i++) {
      _cleanup_json_ json_t *k = json_string(keys[i]);
      if ((r = exec_range_item(st, n, k, json_object_get(v, keys[i]), b, err)) < 0) return r;
    }
    return 0;
  }
  if (v && !json_is_array(v) && !json_is_object(v) && !json_is_null(v))
    return berr(err, EINVAL, "template: range can't iterate over %s", json_is_string(v) ? json_string_value(v) : "value");
  return exec_list(st, &n->els, v, b, err);
}

static int exec_node(struct state *st, const struct node *n, json_t *dot, struct buf *b, struct berth_error **err) {
  if (n->kind == N_TEXT) return buf_puts(b, n->text), 0;
  _cleanup_json_ json_t *v = NULL;
  int r = eval_pipeline(st, n->pipe, dot, &v, err);
  if (r < 0) return r;
  switch (n->kind) {
  case N_ACTION:
    if (n->pipe->ndecl) { /* {{$x := ...}} declares and prints nothing */
      var_push(st, n->pipe->decl[0], v);
      return 0;
    }
    tmpl_print_value(b, v);
    return 0;
  case N_IF: return exec_list(st, truth(v) ? &n->body : &n->els, dot, b, err);
  case N_WITH: return truth(v) ? exec_list(st, &n->body, v, b, err) : exec_list(st, &n->els, dot, b, err);
  case N_RANGE: return exec_range(st, n, v, b, err);
  default: return 0;
  }
}

static int exec_list(struct state *st, const struct list *l, json_t *dot, struct buf *b, struct berth_error **err) {
  size_t mark = st->nvars;
  int r = 0;
  for (size_t i = 0; i < l->n && r == 0; i++) r = exec_node(st, &l->v[i], dot, b, err);
  vars_pop(st, mark);
  return r;
}

int tmpl_exec(const struct tmpl *t, json_t *data, struct buf *b, struct berth_error **err) {
  struct state st = {.root = data};
  int r = exec_list(&st, &t->root, data, b, err);
  vars_pop(&st, 0);
  free(st.vars);
  return r;
}
