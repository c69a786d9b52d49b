/* buf.c - growable buffer; JSON escaping used by the shim's log writer */
#include "common/buf.h"
#include "common/xalloc.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void buf_reserve(struct buf *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  b->p = xrealloc(b->p, cap);
  b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t n) {
  buf_reserve(b, n);
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_putc(struct buf *b, char c) { buf_append(b, &c, 1); }

void buf_printf(struct buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof(small)) {
    buf_append(b, small, (size_t)n);
    return;
  }
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* utf8_len: length of a valid UTF-8 sequence at s (max n bytes), 0 if invalid */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len;
  unsigned int cp;
  if (s[0] < 0x80) return 1;
  if ((s[0] & 0xe0) == 0xc0) len = 2, cp = s[0] & 0x1f;
  else if ((s[0] & 0xf0) == 0xe0) len = 3, cp = s[0] & 0x0f;
  else if ((s[0] & 0xf8) == 0xf0) len = 4, cp = s[0] & 0x07;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

void buf_json_string(struct buf *b, const char *data, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)data;
  buf_reserve(b, n + 2);
  buf_putc(b, '"');
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    /* copy runs of plain ASCII in one go */
    while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\') run++;
    if (run > i) {
      buf_append(b, s + i, run - i);
      i = run;
      continue;
    }
    unsigned char c = s[i];
    switch (c) {
    case '"': buf_append(b, "\\\"", 2); i++; continue;
    case '\\': buf_append(b, "\\\\", 2); i++; continue;
    case '\n': buf_append(b, "\\n", 2); i++; continue;
    case '\r': buf_append(b, "\\r", 2); i++; continue;
    case '\t': buf_append(b, "\\t", 2); i++; continue;
    default: break;
    }
    if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      buf_append(b, e, 6);
      i++;
      continue;
    }
    size_t l = utf8_len(s + i, n - i);
    if (l == 0) {
      buf_append(b, "\xef\xbf\xbd", 3);
      i++;
    } else {
      buf_append(b, s + i, l);
      i += l;
    }
  }
  buf_putc(b, '"');
}

void buf_reset(struct buf *b) {
  b->len = 0;
  if (b->p) b->p[0] = '\0';
}

void buf_free(struct buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

char *buf_steal(struct buf *b) {
  char *p = b->p ? b->p : xstrdup("");
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}
