/* template.c - parser of the Go text/template subset used by --format/-f (evaluator: template_exec.c) */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli/format/format.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include "cli/format/template_int.h"

static void pipe_free(struct pipeline *p);
static void list_free(struct list *l);

static void operand_free(struct operand *o) {
  free(o->name);
  strv_free(o->chain);
  json_decref(o->lit);
  pipe_free(o->sub);
}

static void pipe_free(struct pipeline *p) {
  if (!p) return;
  for (size_t i = 0; i < p->ncmds; i++) {
    for (size_t j = 0; j < p->cmds[i].nargs; j++) operand_free(&p->cmds[i].args[j]);
    free(p->cmds[i].args);
  }
  free(p->cmds);
  free(p->decl[0]);
  free(p->decl[1]);
  free(p);
}

static void list_free(struct list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].text);
    pipe_free(l->v[i].pipe);
    list_free(&l->v[i].body);
    list_free(&l->v[i].els);
  }
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

void tmpl_free(struct tmpl *t) {
  if (!t) return;
  list_free(&t->root);
  free(t);
}

static struct node *list_add(struct list *l, enum node_kind k) {
  l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
  struct node *n = &l->v[l->n++];
  memset(n, 0, sizeof(*n));
  n->kind = k;
  return n;
}

/* ------------------------------------------------------------------ lexer (inside one action) */

enum tok_kind { T_EOF, T_FIELD, T_VAR, T_STRING, T_NUMBER, T_IDENT, T_LPAREN, T_RPAREN, T_PIPE, T_DECLARE, T_COMMA, T_DOT };

struct tok {
  enum tok_kind kind;
  char *text;   /* identifier, variable name, string value, number text */
  char **chain; /* fields after it */
};

struct lexer {
  struct tok *v;
  size_t n, pos;
};

static void lexer_free(struct lexer *lx) {
  for (size_t i = 0; i < lx->n; i++) {
    free(lx->v[i].text);
    strv_free(lx->v[i].chain);
  }
  free(lx->v);
}

static struct tok *tok_add(struct lexer *lx, enum tok_kind k, char *text) {
  lx->v = xrealloc(lx->v, (lx->n + 1) * sizeof(*lx->v));
  struct tok *t = &lx->v[lx->n++];
  t->kind = k;
  t->text = text;
  t->chain = NULL;
  return t;
}

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* lex_chain: ".A.B" at *p, appended to chain */
static char **lex_chain(const char **p, char **chain) {
  while (**p == '.' && ident_char((*p)[1])) {
    const char *s = ++*p;
    while (ident_char(**p)) ++*p;
    chain = strv_push_take(chain, xstrndup(s, (size_t)(*p - s)));
  }
  return chain;
}

static int lex_string(const char **pp, struct buf *b, struct berth_error **err) {
  const char *p = *pp;
  char q = *p++;
  while (*p && *p != q) {
    if (q == '"' && *p == '\\' && p[1]) {
      p++;
      static const char from[] = "ntr\\\"'0", to[] = "\n\t\r\\\"'\0";
      const char *f = strchr(from, *p);
      buf_putc(b, f ? to[f - from] : *p);
      p++;
      continue;
    }
    buf_putc(b, *p++);
  }
  if (*p != q) return berr(err, EINVAL, "template: unterminated quoted string");
  *pp = p + 1;
  if (!b->p) buf_puts(b, "");
  return 0;
}

static int lex_one(struct lexer *lx, const char **pp, struct berth_error **err) {
  const char *p = *pp;
  if (*p == '"' || *p == '`') {
    struct buf b = {0};
    int r = lex_string(&p, &b, err);
    if (r < 0) return buf_free(&b), r;
    tok_add(lx, T_STRING, buf_steal(&b));
  } else if (*p == '.' && ident_char(p[1])) {
    struct tok *t = tok_add(lx, T_FIELD, NULL);
    t->chain = lex_chain(&p, NULL);
  } else if (*p == '.') {
    tok_add(lx, T_DOT, NULL);
    p++;
  } else if (*p == '$') {
    const char *s = p++;
    while (ident_char(*p)) p++;
    struct tok *t = tok_add(lx, T_VAR, xstrndup(s, (size_t)(p - s)));
    t->chain = lex_chain(&p, NULL);
  } else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))) {
    const char *s = p++;
    while (isalnum((unsigned char)*p) || *p == '.') p++;
    tok_add(lx, T_NUMBER, xstrndup(s, (size_t)(p - s)));
  } else if (ident_char(*p)) {
    const char *s = p;
    while (ident_char(*p)) p++;
    tok_add(lx, T_IDENT, xstrndup(s, (size_t)(p - s)));
  } else if (*p == '(') {
    tok_add(lx, T_LPAREN, NULL), p++;
  } else if (*p == ')') {
    struct tok *t = tok_add(lx, T_RPAREN, NULL);
    p++;
    t->chain = lex_chain(&p, NULL);
  } else if (*p == '|') {
    tok_add(lx, T_PIPE, NULL), p++;
  } else if (*p == ',') {
    tok_add(lx, T_COMMA, NULL), p++;
  } else if (p[0] == ':' && p[1] == '=') {
    tok_add(lx, T_DECLARE, NULL), p += 2;
  } else if (p[0] == '=') {
    tok_add(lx, T_DECLARE, NULL), p++;
  } else {
    return berr(err, EINVAL, "template: unexpected \"%c\" in command", *p);
  }
  *pp = p;
  return 0;
}

static int lex_action(const char *s, struct lexer *lx, struct berth_error **err) {
  const char *p = s;
  for (;;) {
    while (isspace((unsigned char)*p)) p++;
    if (!*p) break;
    int r = lex_one(lx, &p, err);
    if (r < 0) return r;
  }
  tok_add(lx, T_EOF, NULL);
  return 0;
}

/* ------------------------------------------------------------------ parser */

static struct tok *peek(struct lexer *lx) { return &lx->v[lx->pos]; }
static struct tok *next(struct lexer *lx) {
  struct tok *t = &lx->v[lx->pos];
  if (t->kind != T_EOF) lx->pos++;
  return t;
}

static int parse_pipeline(struct lexer *lx, struct pipeline **out, bool in_paren, struct berth_error **err);

static char **chain_dup(char **c) {
  char **r = NULL;
  for (size_t i = 0; c && c[i]; i++) r = strv_push(r, c[i]);
  return r;
}

static int parse_operand(struct lexer *lx, struct operand *o, struct berth_error **err) {
  struct tok *t = next(lx);
  memset(o, 0, sizeof(*o));
  switch (t->kind) {
  case T_DOT: o->kind = O_DOT; return 0;
  case T_FIELD: o->kind = O_FIELD; o->chain = chain_dup(t->chain); return 0;
  case T_VAR: o->kind = O_VAR; o->name = xstrdup(t->text); o->chain = chain_dup(t->chain); return 0;
  case T_STRING: o->kind = O_LIT; o->lit = json_string(t->text); return 0;
  case T_NUMBER: {
    o->kind = O_LIT;
    char *end;
    if (strpbrk(t->text, ".eE") && strncmp(t->text, "0x", 2) != 0) o->lit = json_real(strtod(t->text, &end));
    else o->lit = json_integer(strtoll(t->text, &end, 0));
    if (*end) return berr(err, EINVAL, "template: bad number syntax: \"%s\"", t->text);
    return 0;
  }
  case T_IDENT:
    if (strcmp(t->text, "true") == 0 || strcmp(t->text, "false") == 0) {
      o->kind = O_LIT;
      o->lit = json_boolean(t->text[0] == 't');
    } else if (strcmp(t->text, "nil") == 0) {
      o->kind = O_LIT;
      o->lit = json_null();
    } else {
      o->kind = O_FUNC;
      o->name = xstrdup(t->text);
    }
    return 0;
  case T_LPAREN: {
    o->kind = O_PIPE;
    int r = parse_pipeline(lx, &o->sub, true, err);
    if (r < 0) return r;
    struct tok *c = next(lx);
    if (c->kind != T_RPAREN) return berr(err, EINVAL, "template: unclosed left paren");
    o->chain = chain_dup(c->chain);
    return 0;
  }
  default: return berr(err, EINVAL, "template: unexpected token in operand");
  }
}

static int parse_command(struct lexer *lx, struct command *c, struct berth_error **err) {
  memset(c, 0, sizeof(*c));
  for (;;) {
    enum tok_kind k = peek(lx)->kind;
    if (k == T_EOF || k == T_PIPE || k == T_RPAREN) break;
    c->args = xrealloc(c->args, (c->nargs + 1) * sizeof(*c->args));
    int r = parse_operand(lx, &c->args[c->nargs], err);
    c->nargs++;
    if (r < 0) return r;
  }
  if (c->nargs == 0) return berr(err, EINVAL, "template: missing value for command");
  return 0;
}

static void parse_decl(struct lexer *lx, struct pipeline *p) {
  size_t save = lx->pos;
  struct tok *a = peek(lx);
  if (a->kind != T_VAR || a->chain) return;
  lx->pos++;
  if (peek(lx)->kind == T_COMMA) {
    lx->pos++;
    struct tok *b = next(lx);
    if (b->kind == T_VAR && peek(lx)->kind == T_DECLARE) {
      lx->pos++;
      p->decl[0] = xstrdup(a->text);
      p->decl[1] = xstrdup(b->text);
      p->ndecl = 2;
      return;
    }
  } else if (peek(lx)->kind == T_DECLARE) {
    lx->pos++;
    p->decl[0] = xstrdup(a->text);
    p->ndecl = 1;
    return;
  }
  lx->pos = save;
}

static int parse_pipeline(struct lexer *lx, struct pipeline **out, bool in_paren, struct berth_error **err) {
  struct pipeline *p = xcalloc(1, sizeof(*p));
  *out = p;
  if (!in_paren) parse_decl(lx, p);
  for (;;) {
    p->cmds = xrealloc(p->cmds, (p->ncmds + 1) * sizeof(*p->cmds));
    int r = parse_command(lx, &p->cmds[p->ncmds], err);
    p->ncmds++;
    if (r < 0) return r;
    if (peek(lx)->kind != T_PIPE) break;
    lx->pos++;
  }
  if (!in_paren && peek(lx)->kind != T_EOF) return berr(err, EINVAL, "template: unexpected token in pipeline");
  return 0;
}

/* items: the template cut into text and actions */
struct item {
  bool action;
  char *text;
};
struct items {
  struct item *v;
  size_t n, pos;
};

static int split_items(const char *s, struct items *it, struct berth_error **err) {
  bool trim_next = false;
  while (*s) {
    const char *open = strstr(s, "{{");
    size_t tl = open ? (size_t)(open - s) : strlen(s);
    const char *ts = s;
    if (trim_next)
      while (tl && isspace((unsigned char)*ts)) ts++, tl--;
    bool trim_prev = open && open[2] == '-' && open[3] && isspace((unsigned char)open[3]);
    if (trim_prev)
      while (tl && isspace((unsigned char)ts[tl - 1])) tl--;
    if (tl) {
      it->v = xrealloc(it->v, (it->n + 1) * sizeof(*it->v));
      it->v[it->n++] = (struct item){false, xstrndup(ts, tl)};
    }
    if (!open) break;
    const char *a = open + 2 + (trim_prev ? 1 : 0);
    const char *close = strstr(a, "}}");
    if (!close) return berr(err, EINVAL, "template: unclosed action");
    const char *ae = close;
    trim_next = ae - a >= 2 && ae[-1] == '-' && isspace((unsigned char)ae[-2]);
    if (trim_next) ae--;
    while (a < ae && isspace((unsigned char)*a)) a++;
    if (!(ae - a >= 2 && a[0] == '/' && a[1] == '*')) {
      it->v = xrealloc(it->v, (it->n + 1) * sizeof(*it->v));
      it->v[it->n++] = (struct item){true, xstrndup(a, (size_t)(ae - a))};
    }
    s = close + 2;
  }
  return 0;
}

enum stop { STOP_EOF, STOP_END, STOP_ELSE };

static int parse_list(struct items *it, struct list *l, enum stop *stop, char **else_rest, struct berth_error **err);

static bool keyword(const char *a, const char *kw, const char **rest) {
  size_t n = strlen(kw);
  if (strncmp(a, kw, n) != 0 || (a[n] && !isspace((unsigned char)a[n]))) return false;
  *rest = a + n;
  return true;
}

static int parse_pipe_text(const char *text, struct pipeline **p, struct berth_error **err) {
  struct lexer lx = {0};
  int r = lex_action(text, &lx, err);
  if (r == 0) r = parse_pipeline(&lx, p, false, err);
  lexer_free(&lx);
  return r;
}

/* parse_control: if/range/with: pipeline, body, optional else (an "else if" nests) and end */
static int parse_control(struct items *it, struct node *n, const char *pipe_text, struct berth_error **err) {
  int r = parse_pipe_text(pipe_text, &n->pipe, err);
  if (r < 0) return r;
  enum stop stop;
  _cleanup_free_ char *else_rest = NULL;
  r = parse_list(it, &n->body, &stop, &else_rest, err);
  if (r < 0) return r;
  if (stop == STOP_EOF) return berr(err, EINVAL, "template: unexpected EOF");
  if (stop == STOP_END) return 0;
  const char *rest;
  if (n->kind == N_IF && keyword(else_rest, "if", &rest)) {
    struct node *inner = list_add(&n->els, N_IF);
    return parse_control(it, inner, rest, err);
  }
  if (*else_rest) return berr(err, EINVAL, "template: unexpected \"%s\" after else", else_rest);
  _cleanup_free_ char *dummy = NULL;
  r = parse_list(it, &n->els, &stop, &dummy, err);
  if (r < 0) return r;
  if (stop != STOP_END) return berr(err, EINVAL, "template: expected end; found %s", stop == STOP_EOF ? "EOF" : "else");
  return 0;
}

static int parse_list(struct items *it, struct list *l, enum stop *stop, char **else_rest, struct berth_error **err) {
  while (it->pos < it->n) {
    struct item *item = &it->v[it->pos++];
    if (!item->action) {
      list_add(l, N_TEXT)->text = xstrdup(item->text);
      continue;
    }
    const char *a = item->text, *rest;
    if (keyword(a, "end", &rest)) return *stop = STOP_END, 0;
    if (keyword(a, "else", &rest)) {
      while (isspace((unsigned char)*rest)) rest++;
      *else_rest = xstrdup(rest);
      return *stop = STOP_ELSE, 0;
    }
    static const struct {
      const char *kw;
      enum node_kind kind;
    } controls[] = {{"if", N_IF}, {"range", N_RANGE}, {"with", N_WITH}};
    bool done = false;
    for (size_t i = 0; i < ARRAY_SIZE(controls) && !done; i++) {
      if (!keyword(a, controls[i].kw, &rest)) continue;
      int r = parse_control(it, list_add(l, controls[i].kind), rest, err);
      if (r < 0) return r;
      done = true;
    }
    if (done) continue;
    if (keyword(a, "define", &rest) || keyword(a, "template", &rest) || keyword(a, "block", &rest))
      return berr(err, ENOTSUP, "template: {{%s}} is not supported yet", a);
    int r = parse_pipe_text(a, &list_add(l, N_ACTION)->pipe, err);
    if (r < 0) return r;
  }
  return *stop = STOP_EOF, 0;
}

int tmpl_parse(const char *text, struct tmpl **out, struct berth_error **err) {
  struct items it = {0};
  struct tmpl *t = xcalloc(1, sizeof(*t));
  int r = split_items(text, &it, err);
  if (r == 0) {
    enum stop stop;
    _cleanup_free_ char *else_rest = NULL;
    r = parse_list(&it, &t->root, &stop, &else_rest, err);
    if (r == 0 && stop != STOP_EOF) r = berr(err, EINVAL, "template: unexpected {{%s}}", stop == STOP_END ? "end" : "else");
  }
  for (size_t i = 0; i < it.n; i++) free(it.v[i].text);
  free(it.v);
  if (r < 0) {
    tmpl_free(t);
    return berr_prefix(err, "Template parsing error");
  }
  *out = t;
  return 0;
}
