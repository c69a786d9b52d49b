/* table.c - docker's formatter: "table" templates aligned like Go's text/tabwriter, and json.Indent */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli/format/format.h"
#include "common/xalloc.h"

struct cell {
  const char *p;
  size_t len, width;
};
struct line {
  struct cell *cells;
  size_t n;
};
struct tw {
  struct line *lines;
  size_t nlines;
  int *widths;
  size_t nwidths;
  int minwidth, padding;
  struct buf *out;
};

static size_t runes(const char *p, size_t n) {
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)p[i] & 0xC0) != 0x80) w++;
  return w;
}

static void write_lines(struct tw *t, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    struct line *l = &t->lines[i];
    for (size_t j = 0; j < l->n; j++) {
      buf_append(t->out, l->cells[j].p, l->cells[j].len);
      if (j < t->nwidths)
        for (size_t k = l->cells[j].width; k < (size_t)t->widths[j]; k++) buf_putc(t->out, ' ');
    }
    if (i + 1 < t->nlines) buf_putc(t->out, '\n');
  }
}

/* format: Go's tabwriter.format - column blocks of consecutive lines with a tab-terminated cell */
static void format(struct tw *t, size_t line0, size_t line1) {
  size_t column = t->nwidths;
  for (size_t this = line0; this < line1; this++) {
    if (column + 1 >= t->lines[this].n) continue;
    write_lines(t, line0, this);
    line0 = this;
    int width = t->minwidth;
    for (; this < line1; this++) {
      struct line *l = &t->lines[this];
      if (column + 1 >= l->n) break;
      int w = (int)l->cells[column].width + t->padding;
      if (w > width) width = w;
    }
    t->widths = xrealloc(t->widths, (t->nwidths + 1) * sizeof(int));
    t->widths[t->nwidths++] = width;
    format(t, line0, this);
    t->nwidths--;
    line0 = this; /* the line that ended the block has no cell here: skipping it is safe */
  }
  write_lines(t, line0, line1);
}

char *fmt_tabwrite(const char *text, int minwidth, int padding) {
  struct tw t = {.minwidth = minwidth, .padding = padding};
  struct buf out = {0};
  t.out = &out;
  const char *p = text;
  for (;;) { /* split into lines (the final newline ends the last line) and cells */
    const char *nl = strchr(p, '\n');
    const char *end = nl ? nl : p + strlen(p);
    t.lines = xrealloc(t.lines, (t.nlines + 1) * sizeof(*t.lines));
    struct line *l = &t.lines[t.nlines++];
    memset(l, 0, sizeof(*l));
    for (const char *c = p;;) {
      const char *tab = memchr(c, '\t', (size_t)(end - c));
      const char *ce = tab ? tab : end;
      l->cells = xrealloc(l->cells, (l->n + 1) * sizeof(*l->cells));
      l->cells[l->n++] = (struct cell){c, (size_t)(ce - c), runes(c, (size_t)(ce - c))};
      if (!tab) break;
      c = tab + 1;
    }
    if (!nl) break;
    p = nl + 1;
  }
  format(&t, 0, t.nlines);
  for (size_t i = 0; i < t.nlines; i++) free(t.lines[i].cells);
  free(t.lines);
  free(t.widths);
  if (!out.p) buf_puts(&out, "");
  return buf_steal(&out);
}

bool fmt_is_table(const char *format, const char **rest) {
  if (strncmp(format, "table", 5) != 0) return false;
  *rest = format + 5;
  return true;
}

/* prepare: docker's preFormat: drop "table", trim spaces, turn \t and \n escapes into the characters */
static char *prepare(const char *format, bool *table) {
  const char *rest = format;
  *table = fmt_is_table(format, &rest);
  while (*rest == ' ') rest++;
  struct buf b = {0};
  for (const char *p = rest; *p; p++) {
    if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
      buf_putc(&b, p[1] == 't' ? '\t' : '\n');
      p++;
    } else {
      buf_putc(&b, *p);
    }
  }
  while (b.len && b.p[b.len - 1] == ' ') b.p[--b.len] = 0;
  if (!b.p) buf_puts(&b, "");
  return buf_steal(&b);
}

static void drop_no_value(struct buf *b) {
  static const char nv[] = "<no value>";
  char *p;
  while ((p = strstr(b->p, nv))) {
    memmove(p, p + sizeof(nv) - 1, strlen(p + sizeof(nv) - 1) + 1);
    b->len -= sizeof(nv) - 1;
  }
}

int fmt_render_rows(const char *format, json_t *header, json_t *rows, struct buf *out, struct berth_error **err) {
  bool table;
  _cleanup_free_ char *text = prepare(format, &table);
  _cleanup_tmpl_ struct tmpl *t = NULL;
  int r = tmpl_parse(text, &t, err);
  if (r < 0) return r;
  _cleanup_buf_ struct buf b = {0};
  if (table) {
    r = tmpl_exec(t, header, &b, err);
    if (r < 0) return r;
    if (b.p) drop_no_value(&b); /* docker's header map gives "" for fields without a header */
    buf_putc(&b, '\n');
  }
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    r = tmpl_exec(t, row, &b, err);
    if (r < 0) return r;
    buf_putc(&b, '\n');
  }
  if (!b.p) return 0;
  if (!table) {
    buf_append(out, b.p, b.len);
    return 0;
  }
  _cleanup_free_ char *aligned = fmt_tabwrite(b.p, 10, 3);
  buf_puts(out, aligned);
  return 0;
}

static void newline_indent(struct buf *b, const char *indent, int depth) {
  buf_putc(b, '\n');
  for (int i = 0; i < depth; i++) buf_puts(b, indent);
}

char *fmt_json_indent(const char *raw, size_t len, const char *indent) {
  struct buf b = {0};
  int depth = 0;
  bool in_str = false, esc = false, need_indent = false;
  for (size_t i = 0; i < len; i++) {
    char c = raw[i];
    if (in_str) {
      buf_putc(&b, c);
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (need_indent && c != ']' && c != '}') {
      need_indent = false;
      depth++;
      newline_indent(&b, indent, depth);
    }
    switch (c) {
    case '"': in_str = true; buf_putc(&b, c); break;
    case '{':
    case '[': buf_putc(&b, c); need_indent = true; break;
    case ',': buf_putc(&b, c); newline_indent(&b, indent, depth); break;
    case ':': buf_puts(&b, ": "); break;
    case '}':
    case ']':
      if (need_indent) need_indent = false; /* empty: "{}" / "[]" */
      else newline_indent(&b, indent, --depth);
      buf_putc(&b, c);
      break;
    default: buf_putc(&b, c);
    }
  }
  if (!b.p) buf_puts(&b, "");
  return buf_steal(&b);
}
