/* logline.c - json-file log encoder: line splitting as Docker's copier does it */
#include "shim/logline.h"
#include <string.h>

void logline_encode(struct buf *out, const char *stream, const char *data, size_t n, int newline,
                    const char *time) {
  buf_puts(out, "{\"log\":");
  buf_json_string(out, data, n);
  if (newline) {
    /* reopen the literal to add the line's "\n" rather than copying the line to append it */
    out->len--;
    buf_append(out, "\\n\"", 3);
  }
  buf_puts(out, ",\"stream\":\"");
  buf_puts(out, stream);
  buf_puts(out, "\",\"time\":\"");
  buf_puts(out, time);
  buf_append(out, "\"}\n", 3);
}

/* emit: encode data, prefixed by what pending holds, and empty pending */
static void emit(struct logline_stream *s, const char *data, size_t n, int newline, const char *time,
                 struct buf *out) {
  if (s->len == 0) {
    logline_encode(out, s->name, data, n, newline, time);
    return;
  }
  memcpy(s->pending + s->len, data, n);
  logline_encode(out, s->name, s->pending, s->len + n, newline, time);
  s->len = 0;
}

void logline_feed(struct logline_stream *s, const char *data, size_t n, const char *time, struct buf *out) {
  while (n > 0) {
    size_t room = LOGLINE_MAX - s->len;
    size_t scan = n < room ? n : room;
    const char *nl = memchr(data, '\n', scan);
    if (nl) {
      size_t k = (size_t)(nl - data);
      emit(s, data, k, 1, time, out);
      data += k + 1;
      n -= k + 1;
    } else if (scan == room) {
      /* the buffer is full without a newline: Docker logs it as a partial line */
      emit(s, data, room, 0, time, out);
      data += room;
      n -= room;
    } else {
      memcpy(s->pending + s->len, data, scan);
      s->len += scan;
      n = 0;
    }
  }
}

void logline_flush(struct logline_stream *s, const char *time, struct buf *out) {
  if (s->len == 0) return;
  logline_encode(out, s->name, s->pending, s->len, 0, time);
  s->len = 0;
}
