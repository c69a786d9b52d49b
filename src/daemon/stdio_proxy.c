/* stdio_proxy.c - the client side of attach and exec streams: packets from a shim's attach
 * socket ([stream byte][data]) to the client (raw with a TTY, stdcopy frames without), and the
 * client's bytes to the process's stdin, watching for the detach key sequence. */
#include "daemon/stdio_proxy.h"
#include "api/api.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PACKET_MAX (64 * 1024 + 1)
#define STDIN_CHUNK (32 * 1024)

static bool wanted(const struct stdio_proxy *p, int stream) {
  return !((stream == API_STREAM_STDOUT && !p->out) || (stream == API_STREAM_STDERR && !p->err));
}

int proxy_write_out(struct stdio_proxy *p, int client, int stream, const char *data, size_t n) {
  if (!wanted(p, stream)) return 0;
  if (p->tty) return write_all(client, data, n);
  uint8_t hdr[API_FRAME_HEADER];
  api_frame_header(hdr, (enum api_stream)stream, (uint32_t)n);
  int r = write_all(client, hdr, sizeof(hdr));
  return r < 0 ? r : write_all(client, data, n);
}

static int send_chunk(struct stdio_proxy *p, const char *data, size_t n) {
  if (n && send(p->fd, data, n, MSG_NOSIGNAL) < 0) return -errno;
  return 0;
}

/* send_stdin: forward client bytes to the process, holding back what may be the start of the
 * detach keys; 1 when the whole sequence came (the client detaches, the process goes on) */
static int send_stdin(struct stdio_proxy *p, const char *data, size_t n) {
  char out[STDIN_CHUNK + sizeof(p->keys) + 1];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)data[i];
    if (p->nkeys && c == p->keys[p->matched]) {
      if (++p->matched == p->nkeys) return 1;
      continue;
    }
    if (p->matched) { /* not the sequence after all: what was held goes through */
      memcpy(out + k, p->keys, p->matched);
      k += p->matched;
      p->matched = 0;
      if (p->nkeys && c == p->keys[0]) {
        if (++p->matched == p->nkeys) return 1;
        continue;
      }
    }
    out[k++] = (char)c;
    if (k >= STDIN_CHUNK) {
      int r = send_chunk(p, out, k);
      if (r < 0) return r;
      k = 0;
    }
  }
  return send_chunk(p, out, k);
}

enum proxy_end proxy_run(struct stdio_proxy *p, int client, const char *extra, size_t extra_len) {
  _cleanup_free_ char *pkt = xmalloc(PACKET_MAX);
  bool client_open = true;
  if (extra_len && p->in) {
    int r = send_stdin(p, extra, extra_len);
    if (r == 1) return PROXY_DETACHED;
    if (r < 0) return PROXY_GONE;
  }
  for (;;) {
    struct pollfd f[3] = {{.fd = p->fd, .events = POLLIN},
                          {.fd = p->stop_efd, .events = POLLIN},
                          {.fd = client_open ? client : -1, .events = POLLIN}};
    if (poll(f, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return PROXY_GONE;
    }
    if (f[1].revents) return PROXY_GONE;
    if (f[0].revents) {
      ssize_t n = recv(p->fd, pkt, PACKET_MAX, 0);
      if (n <= 0) return PROXY_OUTPUT_END; /* the shim closed: the output is complete */
      if (n > 1 && proxy_write_out(p, client, pkt[0], pkt + 1, (size_t)n - 1) < 0) return PROXY_GONE;
    }
    if (f[2].revents) {
      ssize_t n = read(client, pkt, STDIN_CHUNK);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) { /* the client's input ended: so does the process's (the shim has --stdin-once) */
        client_open = false;
        if (p->in) shutdown(p->fd, SHUT_WR);
        if (n < 0) return PROXY_GONE;
        continue;
      }
      if (!p->in) continue;
      int r = send_stdin(p, pkt, (size_t)n);
      if (r == 1) return PROXY_DETACHED;
      if (r < 0 && r != -EPIPE) return PROXY_GONE; /* EPIPE: stdin closed, output may still come */
    }
  }
}

ssize_t proxy_read(struct stdio_proxy *p, char *buf, size_t max) {
  char pkt[16 * 1024];
  if (p->fd < 0) return 0;
  for (;;) {
    struct pollfd f[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = p->stop_efd, .events = POLLIN}};
    if (poll(f, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (f[1].revents) return -1;
    if (!f[0].revents) continue;
    size_t room = max > API_FRAME_HEADER + 1 ? max - API_FRAME_HEADER : 1;
    ssize_t n = recv(p->fd, pkt, room < sizeof(pkt) ? room : sizeof(pkt), 0);
    if (n <= 0) return 0;
    if (n < 2 || !wanted(p, pkt[0])) continue;
    if (p->tty) {
      memcpy(buf, pkt + 1, (size_t)n - 1);
      return n - 1;
    }
    api_frame_header((uint8_t *)buf, (enum api_stream)pkt[0], (uint32_t)(n - 1));
    memcpy(buf + API_FRAME_HEADER, pkt + 1, (size_t)n - 1);
    return API_FRAME_HEADER + n - 1;
  }
}
