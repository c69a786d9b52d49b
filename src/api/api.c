/* api.c - stream framing, status mapping and version comparison */
#include "api/api.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void api_frame_header(uint8_t hdr[API_FRAME_HEADER], enum api_stream s, uint32_t len) {
  hdr[0] = (uint8_t)s;
  hdr[1] = hdr[2] = hdr[3] = 0;
  hdr[4] = (uint8_t)(len >> 24);
  hdr[5] = (uint8_t)(len >> 16);
  hdr[6] = (uint8_t)(len >> 8);
  hdr[7] = (uint8_t)len;
}

void api_frame_append(struct buf *b, enum api_stream s, const void *data, size_t len) {
  uint8_t hdr[API_FRAME_HEADER];
  api_frame_header(hdr, s, (uint32_t)len);
  buf_append(b, hdr, sizeof(hdr));
  buf_append(b, data, len);
}

int api_deframe(struct api_deframer *d, const void *data, size_t n,
                void (*out)(enum api_stream s, const char *data, size_t len, void *ctx), void *ctx) {
  const char *p = data;
  while (n > 0) {
    if (d->remaining == 0) {
      size_t take = API_FRAME_HEADER - d->hdr_have;
      if (take > n) take = n;
      memcpy(d->hdr + d->hdr_have, p, take);
      d->hdr_have += take;
      p += take;
      n -= take;
      if (d->hdr_have < API_FRAME_HEADER) return 0;
      d->hdr_have = 0;
      if (d->hdr[0] > API_STREAM_SYSTEMERR) return -EPROTO;
      d->cur = (enum api_stream)d->hdr[0];
      d->remaining = ((uint32_t)d->hdr[4] << 24) | ((uint32_t)d->hdr[5] << 16) | ((uint32_t)d->hdr[6] << 8) |
                     d->hdr[7];
      continue;
    }
    size_t take = d->remaining < n ? d->remaining : n;
    out(d->cur, p, take, ctx);
    d->remaining -= (uint32_t)take;
    p += take;
    n -= take;
  }
  return 0;
}

int api_http_status(int code) {
  switch (code) {
  case ENOENT: return 404;
  case EEXIST:
  case EBUSY: return 409;
  case EINVAL:
  case E2BIG:
  case ERANGE: return 400;
  case EPERM:
  case EACCES: return 403;
  case ENOTSUP: return 501;
  case 304: return 304; /* "not modified" (start of a running container) */
  default: return 500;
  }
}

int api_version_cmp(const char *a, const char *b) {
  while (*a || *b) {
    long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
    if (x != y) return x < y ? -1 : 1;
    if (*a == '.') a++;
    if (*b == '.') b++;
    if (!*a && !*b) break;
    if (!*a || !*b) return *a ? 1 : -1;
  }
  return 0;
}
