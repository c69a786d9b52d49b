/* util.c - small text helpers of the CLI: short ids, Go quoting, ellipsis, env and label files */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"

void cli_short_id(const char *id, char out[13]) {
  if (strncmp(id, "sha256:", 7) == 0) id += 7;
  snprintf(out, 13, "%s", id);
}

/* utf8_decode: one rune at s (length in *len); -1 for an invalid sequence */
static int utf8_decode(const unsigned char *s, size_t *len) {
  if (s[0] < 0x80) return *len = 1, s[0];
  int n = s[0] >= 0xF0 && s[0] < 0xF8 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
  if (n == 0 || (n == 4 && s[0] > 0xF4)) return *len = 1, -1;
  int cp = s[0] & (0xFF >> (n + 1));
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return *len = 1, -1;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  *len = (size_t)n;
  return cp;
}

char *cli_go_quote(const char *s) {
  struct buf b = {0};
  buf_putc(&b, '"');
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t len;
    int cp = utf8_decode(p, &len);
    static const char esc_from[] = "\a\b\f\n\r\t\v\"\\", esc_to[] = "abfnrtv\"\\";
    const char *e = cp > 0 && cp < 0x80 ? strchr(esc_from, cp) : NULL;
    if (e && *e) buf_printf(&b, "\\%c", esc_to[e - esc_from]);
    else if (cp < 0) buf_printf(&b, "\\x%02x", *p);
    else if (cp < 0x20 || cp == 0x7F) buf_printf(&b, "\\x%02x", cp);
    else buf_append(&b, p, len);
    p += len;
  }
  buf_putc(&b, '"');
  return buf_steal(&b);
}

char *cli_ellipsis(const char *s, size_t max) {
  size_t runes = 0, i = 0, cut = 0;
  for (; s[i]; i++) {
    if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
    if (runes == (max ? max - 1 : 0)) cut = i;
    runes++;
  }
  if (runes <= max) return xstrdup(s);
  if (max == 0) return xstrdup("");
  if (max == 1) return xstrdup("…");
  return xasprintf("%.*s…", (int)cut, s);
}

char *cli_parse_env(const char *kv) {
  if (strchr(kv, '=')) return xstrdup(kv);
  const char *v = getenv(kv);
  return v ? xasprintf("%s=%s", kv, v) : xstrdup(kv);
}

/* read_kv_file: docker's opts.ParseEnvFile rules: comments, blank lines, trimmed leading space */
static int read_kv_file(const char *path, char ***out, bool env, struct berth_error **err) {
  _cleanup_free_ char *data = NULL;
  size_t len;
  int r = read_file(path, &data, &len, err);
  if (r < 0) {
    berr_clear(err);
    return berr(err, -r, "open %s: %s", path, strerror(-r));
  }
  char *save = NULL;
  for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    while (isspace((unsigned char)*line)) line++;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r')) line[--n] = 0;
    if (!*line || *line == '#') continue;
    char *eq = strchr(line, '=');
    size_t klen = eq ? (size_t)(eq - line) : n;
    for (size_t i = 0; i < klen; i++)
      if (isspace((unsigned char)line[i])) return berr(err, EINVAL, "variable '%.*s' contains whitespaces", (int)klen, line);
    if (eq && klen == 0) return berr(err, EINVAL, "no variable name on line '%s'", line);
    *out = strv_push_take(*out, env ? cli_parse_env(line) : xstrdup(line));
  }
  return 0;
}

int cli_env_file(const char *path, char ***env, struct berth_error **err) { return read_kv_file(path, env, true, err); }
int cli_label_file(const char *path, char ***labels, struct berth_error **err) {
  return read_kv_file(path, labels, false, err);
}

json_t *cli_labels_object(char **labels) {
  json_t *o = json_object();
  for (size_t i = 0; labels && labels[i]; i++) {
    const char *eq = strchr(labels[i], '=');
    _cleanup_free_ char *k = eq ? xstrndup(labels[i], (size_t)(eq - labels[i])) : xstrdup(labels[i]);
    json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
  }
  return o;
}
