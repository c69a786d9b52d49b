/* buf.h - growable byte buffer and JSON string escaping without a JSON library */
#pragma once
#include <stddef.h>

struct buf {
  char *p;    /* always NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_json_string: append data as a JSON string literal with quotes; invalid UTF-8 becomes U+FFFD */
void buf_json_string(struct buf *b, const char *data, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* buf_steal: return the string and leave b empty */
char *buf_steal(struct buf *b);

static inline void cleanup_bufp(struct buf *b) { buf_free(b); }
#define _cleanup_buf_ __attribute__((cleanup(cleanup_bufp)))
