/* attach.c - the hijacked attach stream: terminal raw mode, stdin copy with Ctrl-P Ctrl-Q detach,
 * demultiplexing of stdout/stderr, window size, and signal forwarding to the container */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include "api/api.h"
#include "cli/cli.h"
#include "common/fs.h"
#include "common/xalloc.h"

int cli_attach_open(struct cli *cli, struct cli_conn *c, const struct cli_attach *a, struct berth_error **err) {
  _cleanup_free_ char *id = cli_urlenc(a->id);
  _cleanup_free_ char *path = xasprintf("/containers/%s/attach?stream=1&stdin=%d&stdout=%d&stderr=%d", id, a->in, a->out,
                                        a->err);
  int r = cli_conn_open(cli, c, "POST", path, NULL, NULL, 0, true, err);
  if (r < 0) return r;
  r = cli_conn_read_head(c, err);
  if (r < 0) return r;
  if (c->status >= 400) return cli_daemon_error(c, err);
  return 0;
}

static void out_cb(enum api_stream s, const char *data, size_t len, void *ctx) {
  int *failed = ctx;
  int r = write_all(s == API_STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO, data, len);
  if (r < 0 && !*failed) *failed = r;
}

/* emit: raw bytes (tty) or multiplexed frames to stdout/stderr */
static int emit(struct api_deframer *d, bool raw, const char *data, size_t n, struct berth_error **err) {
  int failed = 0;
  if (raw) failed = write_all(STDOUT_FILENO, data, n);
  else if (api_deframe(d, data, n, out_cb, &failed) < 0) return berr(err, EPROTO, "bad stream header from the daemon");
  /* a reader that went away (berth logs -f | head) ends the copy */
  if (failed == -EPIPE) return -EPIPE; /* quietly, as docker dies of SIGPIPE there */
  return failed < 0 ? berr_sys(err, -failed, "write output") : 0;
}

int cli_stream_copy(struct cli_conn *c, bool raw, struct berth_error **err) {
  struct api_deframer d = {0};
  char tmp[32768];
  for (;;) {
    ssize_t n = cli_conn_read_body(c, tmp, sizeof(tmp), err);
    if (n <= 0) return (int)n;
    int r = emit(&d, raw, tmp, (size_t)n, err);
    if (r < 0) return r;
  }
}

void cli_resize(struct cli *cli, const char *id, bool exec) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return;
  _cleanup_free_ char *enc = cli_urlenc(id);
  _cleanup_free_ char *path = xasprintf("/%s/%s/resize?h=%u&w=%u", exec ? "exec" : "containers", enc, ws.ws_row, ws.ws_col);
  struct berth_error *ignored = NULL; /* a resize that fails is not worth stopping for, as in docker */
  cli_call(cli, "POST", path, NULL, NULL, NULL, &ignored);
  berr_free(ignored);
}

/* ------------------------------------------------------------------ signals through a self-pipe */

static int sig_pipe_w = -1; /* written from the signal handler only */

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  if (sig_pipe_w >= 0 && write(sig_pipe_w, &b, 1) < 0) { /* full pipe: the signal is dropped */ }
  errno = saved;
}

static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void signals_setup(int wfd, bool tty, bool proxy, bool on) {
  struct sigaction sa = {.sa_handler = on ? on_signal : SIG_DFL};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sig_pipe_w = on ? wfd : -1;
  if (tty) {
    sigaction(SIGWINCH, &sa, NULL);
    return;
  }
  if (!proxy) return;
  for (size_t i = 0; i < ARRAY_SIZE(proxied); i++) sigaction(proxied[i], &sa, NULL);
}

static void forward_signal(struct cli *cli, const char *id, int sig) {
  _cleanup_free_ char *enc = cli_urlenc(id);
  _cleanup_free_ char *path = xasprintf("/containers/%s/kill?signal=%d", enc, sig);
  struct berth_error *ignored = NULL;
  cli_call(cli, "POST", path, NULL, NULL, NULL, &ignored);
  berr_free(ignored);
}

/* ------------------------------------------------------------------ the copy loop */

struct pump {
  struct cli *cli;
  struct cli_conn *c;
  struct cli_attach *a;
  struct api_deframer d;
  bool in_open;
  unsigned char keys[16]; /* the detach sequence */
  size_t nkeys, matched;  /* how much of it the input has shown so far */
  int sigr;
};

int cli_parse_detach_keys(const char *spec, unsigned char *keys, size_t max, size_t *n, struct berth_error **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *save = NULL;
  *n = 0;
  for (char *k = strtok_r(s, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    if (*n == max) return berr(err, EINVAL, "Invalid detach keys (%s) provided", spec);
    if (strlen(k) == 1) {
      keys[(*n)++] = (unsigned char)k[0];
    } else if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6 &&
               ((k[5] >= 'a' && k[5] <= 'z') || strchr("@[\\]^_", k[5]))) {
      keys[(*n)++] = (unsigned char)(k[5] >= 'a' && k[5] <= 'z' ? k[5] - 'a' + 1 : k[5] - '@');
    } else {
      return berr(err, EINVAL, "Invalid detach keys (%s) provided", spec);
    }
  }
  if (*n == 0) return berr(err, EINVAL, "Invalid detach keys (%s) provided", spec);
  return 0;
}

/* send_input: stdin bytes to the container, watching for the detach sequence on a terminal; a partial
 * match is held back and sent once the input leaves the sequence, as docker's escape proxy does */
static int send_input(struct pump *p, const char *data, size_t n, struct berth_error **err) {
  _cleanup_free_ char *out = xmalloc(n + p->nkeys + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char b = (unsigned char)data[i];
    if (!p->a->detach_keys) {
      out[k++] = (char)b;
      continue;
    }
    if (b != p->keys[p->matched] && p->matched) {
      memcpy(out + k, p->keys, p->matched);
      k += p->matched;
      p->matched = 0;
    }
    if (b == p->keys[p->matched]) {
      if (++p->matched == p->nkeys) {
        p->a->detached = true;
        break;
      }
      continue;
    }
    out[k++] = (char)b;
  }
  if (k) {
    int r = write_all(p->c->fd, out, k);
    if (r < 0 && r != -EPIPE) return berr_sys(err, -r, "send input");
  }
  return 0;
}

static int on_stdin(struct pump *p, struct berth_error **err) {
  char tmp[8192];
  ssize_t n = read(STDIN_FILENO, tmp, sizeof(tmp));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) { /* EOF: half-close so the container sees the end of its input */
    p->in_open = false;
    shutdown(p->c->fd, SHUT_WR);
    return 0;
  }
  return send_input(p, tmp, (size_t)n, err);
}

static void on_sig(struct pump *p) {
  unsigned char sigs[64];
  ssize_t n = read(p->sigr, sigs, sizeof(sigs));
  for (ssize_t i = 0; i < n; i++) {
    if (sigs[i] == SIGWINCH) cli_resize(p->cli, p->a->id, p->a->exec);
    else forward_signal(p->cli, p->a->id, sigs[i]);
  }
}

static int pump_loop(struct pump *p, struct berth_error **err) {
  char tmp[32768];
  for (;;) {
    while (p->c->rpos < p->c->rlen) { /* bytes that came with the HTTP answer */
      ssize_t n = cli_conn_read_body(p->c, tmp, sizeof(tmp), err);
      if (n <= 0) return (int)n;
      if (emit(&p->d, p->a->tty, tmp, (size_t)n, err) < 0) return -EIO;
    }
    struct pollfd fds[3] = {{p->c->fd, POLLIN, 0}, {p->sigr, POLLIN, 0}, {p->in_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return berr_sys(err, errno, "poll");
    }
    if (fds[1].revents & POLLIN) on_sig(p);
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      int r = on_stdin(p, err);
      if (r < 0) return r;
      if (p->a->detached) return 0;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = cli_conn_read_body(p->c, tmp, sizeof(tmp), err);
      if (n < 0) return (int)n;
      if (n == 0) return 0;
      if (emit(&p->d, p->a->tty, tmp, (size_t)n, err) < 0) return -EIO;
    }
  }
}

int cli_attach_pump(struct cli *cli, struct cli_conn *c, struct cli_attach *a, struct berth_error **err) {
  int sp[2];
  if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0) return berr_sys(err, errno, "pipe");
  _cleanup_close_ int sigr = sp[0], sigw = sp[1];
  struct pump p = {.cli = cli, .c = c, .a = a, .in_open = a->in, .sigr = sigr};
  if (cli_parse_detach_keys(a->keys_spec ? a->keys_spec : "ctrl-p,ctrl-q", p.keys, sizeof(p.keys), &p.nkeys, err) < 0)
    return -EINVAL;
  struct termios saved;
  bool raw = a->tty && a->in && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t); /* the container's pty does the line discipline */
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  a->detach_keys = a->tty && a->in;
  bool proxy = !a->exec && !a->no_sig_proxy;
  signals_setup(sigw, a->tty, proxy, true);
  int r = pump_loop(&p, err);
  signals_setup(-1, a->tty, proxy, false);
  if (raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return r;
}
