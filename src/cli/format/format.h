/* format.h - docker's output formats: Go-template subset, tab-aligned tables, sizes, durations, JSON */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/error.h"

static inline void cleanup_jsonp(json_t **j) { json_decref(*j); }
#define _cleanup_json_ __attribute__((cleanup(cleanup_jsonp)))

/* ------------------------------------------------------------------ Go templates (text/template subset)
 * {{.A.B}} {{ .Name }} {{$}} {{$v.X}} {{json .X}} {{index .M "k"}} {{len .X}} {{range .X}}..{{else}}..{{end}}
 * {{range $k, $v := .M}} {{if .X}}..{{else if .Y}}..{{else}}..{{end}} {{with .X}}..{{end}} {{println ...}}
 * {{upper}} {{lower}} {{title}} {{join .L ","}} {{split .S ","}} {{printf "%s" .X}} {{eq a b}} {{ne}} {{not}}
 * {{and}} {{or}} {{truncate .S 5}} {{pad .S 1 1}}, pipelines with "|", parentheses, {{- and -}} trimming. */
struct tmpl;
int tmpl_parse(const char *text, struct tmpl **out, struct berth_error **err);
/* tmpl_exec: append the output for data (may be NULL) to b */
int tmpl_exec(const struct tmpl *t, json_t *data, struct buf *b, struct berth_error **err);
void tmpl_free(struct tmpl *t);
static inline void cleanup_tmplp(struct tmpl **t) { tmpl_free(*t); }
#define _cleanup_tmpl_ __attribute__((cleanup(cleanup_tmplp)))
/* tmpl_print_value: Go's fmt %v of a decoded JSON value (map[k:v], [a b], <nil>) */
void tmpl_print_value(struct buf *b, json_t *v);
/* tmpl_json: Go's json.Marshal of v (compact, <>& escaped) */
void tmpl_json(struct buf *b, json_t *v);

/* ------------------------------------------------------------------ tables */
/* fmt_is_table: format starts with "table"; *rest is the template after it */
bool fmt_is_table(const char *format, const char **rest);
/* fmt_tabwrite: Go's text/tabwriter (minwidth 10, tabwidth 1, padding 3, spaces) over text */
char *fmt_tabwrite(const char *text, int minwidth, int padding);
/* fmt_render_rows: docker's formatter: "table ..." prints a header from `header` and aligns;
 * any other template prints each row followed by a newline. Appends to out. */
int fmt_render_rows(const char *format, json_t *header, json_t *rows, struct buf *out, struct berth_error **err);

/* ------------------------------------------------------------------ units */
/* fmt_human_size: go-units HumanSizeWithPrecision (decimal: "1.23MB", "5.2kB", "100B") */
void fmt_human_size(double size, int precision, char *out, size_t n);
/* fmt_bytes_size: go-units BytesSize (binary, 4 digits: "1.944GiB") */
void fmt_bytes_size(double size, char *out, size_t n);
/* fmt_ago: "2 hours ago" for a unix time, relative to now */
void fmt_ago(int64_t then, int64_t now, char *out, size_t n);

/* ------------------------------------------------------------------ JSON */
/* fmt_json_indent: Go's json.Indent(prefix "", indent) of raw JSON text, byte-exact otherwise */
char *fmt_json_indent(const char *raw, size_t len, const char *indent);
