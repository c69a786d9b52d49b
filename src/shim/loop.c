/* loop.c - the shim's one event loop: container output to log and attach clients, stdin, sync, exit */
#include "shim/shim.h"
#include "common/fs.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* after the container's init exits, how long to wait for the rest of its output */
#define DRAIN_PIPES_MS 2000
#define DRAIN_PTY_MS 500
/* a client's send buffer: room for bursts, so that only a client that really stalls is dropped */
#define CLIENT_SNDBUF (1 << 20)
#define LOGBUF_KEEP (64 << 10)

static int ep_ctl(struct shim *s, int op, struct shim_src *src, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = src};
  return epoll_ctl(s->epfd, op, src->fd, &ev) < 0 ? -errno : 0;
}

void shim_sync_send(struct shim *s, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (s->sync.fd < 0 || n < 0) return;
  if ((size_t)n >= sizeof(msg)) n = sizeof(msg) - 1;
  while (send(s->sync.fd, msg, (size_t)n, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

int shim_loop_setup(struct shim *s, struct berth_error **err) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  s->sig.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (s->sig.fd < 0) return berr_sys(err, errno, "signalfd");
  s->sig.kind = SRC_SIGNAL;
  s->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (s->epfd < 0) return berr_sys(err, errno, "epoll_create1");
  s->sync.kind = SRC_SYNC;
  s->listen.kind = SRC_LISTEN;
  int r = ep_ctl(s, EPOLL_CTL_ADD, &s->sig, EPOLLIN);
  if (r == 0) r = ep_ctl(s, EPOLL_CTL_ADD, &s->sync, EPOLLIN);
  if (r == 0) r = ep_ctl(s, EPOLL_CTL_ADD, &s->listen, EPOLLIN);
  s->control.kind = SRC_CONTROL_LISTEN;
  if (r == 0 && s->control.fd >= 0) r = ep_ctl(s, EPOLL_CTL_ADD, &s->control, EPOLLIN);
  for (int i = 0; i < 2 && r == 0; i++) {
    s->out[i].src.kind = SRC_OUTPUT;
    if (s->out[i].src.fd >= 0) r = ep_ctl(s, EPOLL_CTL_ADD, &s->out[i].src, EPOLLIN);
  }
  s->in.kind = SRC_STDIN;
  /* a stdin pipe is watched for EPOLLOUT only while input waits; EPOLLERR says the reader left */
  if (r == 0 && s->in.fd >= 0 && !s->o.tty) r = ep_ctl(s, EPOLL_CTL_ADD, &s->in, 0);
  return r < 0 ? berr_sys(err, -r, "epoll_ctl") : 0;
}

/* ---- attach clients ---- */

static uint32_t client_events(const struct shim_client *c) { return c->reading ? EPOLLIN : 0; }

static void client_drop(struct shim *s, struct shim_client *c) {
  for (struct shim_client **p = c->src.kind == SRC_CONTROL ? &s->controls : &s->clients; *p; p = &(*p)->next) {
    if (*p == c) {
      *p = c->next;
      break;
    }
  }
  close(c->src.fd); /* also leaves the epoll set */
  c->src.fd = -1;
  c->next = s->dead;
  s->dead = c;
}

void shim_clients_close(struct shim *s) {
  while (s->clients) client_drop(s, s->clients);
  while (s->controls) client_drop(s, s->controls);
  while (s->dead) {
    struct shim_client *c = s->dead;
    s->dead = c->next;
    free(c);
  }
}

/* stdin_pause: while input waits for the container, clients are not read (backpressure) */
static void stdin_pause(struct shim *s, bool pause) {
  if (s->stdin_paused == pause) return;
  s->stdin_paused = pause;
  for (struct shim_client *c = s->clients; c; c = c->next)
    if (c->reading) ep_ctl(s, pause ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, &c->src, EPOLLIN);
  /* the pty master is one fd for both directions: its registration carries EPOLLOUT */
  struct shim_src *w = s->o.tty ? &s->out[0].src : &s->in;
  if (w->fd >= 0) ep_ctl(s, EPOLL_CTL_MOD, w, (s->o.tty ? EPOLLIN : 0) | (pause ? EPOLLOUT : 0));
}

static void stdin_close(struct shim *s) {
  s->stdin_len = s->stdin_off = 0;
  s->stdin_close_pending = false;
  stdin_pause(s, false);
  if (s->in.fd < 0) return;
  if (!s->o.tty) close(s->in.fd); /* the pty master stays open for output until EIO */
  s->in.fd = -1;
}

/* stdin_flush: write what waits; pause the clients while the container does not take it */
static void stdin_flush(struct shim *s) {
  while (s->stdin_off < s->stdin_len && s->in.fd >= 0) {
    ssize_t w = write(s->in.fd, s->stdin_buf + s->stdin_off, s->stdin_len - s->stdin_off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      stdin_pause(s, true);
      return;
    }
    if (w < 0) { /* EPIPE: the container closed its stdin */
      stdin_close(s);
      return;
    }
    s->stdin_off += (size_t)w;
  }
  s->stdin_len = s->stdin_off = 0;
  stdin_pause(s, false);
  if (s->stdin_close_pending) stdin_close(s);
}

static void on_client(struct shim *s, struct shim_client *c, uint32_t events) {
  if (c->reading && !s->stdin_paused) {
    ssize_t n = recv(c->src.fd, s->stdin_buf, sizeof(s->stdin_buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
      client_drop(s, c);
      return;
    }
    if (n == 0) { /* the client shut down its write side: end of its input */
      c->reading = false;
      ep_ctl(s, EPOLL_CTL_MOD, &c->src, client_events(c));
      /* like Docker (container/stream/attach.go), a terminal's input is never closed: a client
       * detaching from a shell must leave it usable for the next attach */
      if (s->o.stdin_once && !s->o.tty) {
        if (s->stdin_len) s->stdin_close_pending = true;
        else stdin_close(s);
      }
    } else if (s->in.fd >= 0) {
      s->stdin_len = (size_t)n;
      s->stdin_off = 0;
      stdin_flush(s);
    }
    return; /* more data or a hang-up comes back in the next round */
  }
  if (!c->reading && (events & (EPOLLHUP | EPOLLERR))) client_drop(s, c);
}

/* on_control: "resize ROWS COLS" sets the terminal's size; a control connection sends nothing else yet */
static void on_control(struct shim *s, struct shim_client *c) {
  char msg[64];
  ssize_t n = recv(c->src.fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    client_drop(s, c);
    return;
  }
  msg[n] = '\0';
  unsigned rows, cols;
  char end;
  if (sscanf(msg, "resize %u %u%c", &rows, &cols, &end) == 2 && rows <= 0xffff && cols <= 0xffff &&
      s->out[0].src.fd >= 0) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(s->out[0].src.fd, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to the foreground group */
  }
}

static void on_control_listen(struct shim *s) {
  for (;;) {
    int fd = accept4(s->control.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    struct shim_client *c = xcalloc(1, sizeof(*c));
    c->src.fd = fd;
    c->src.kind = SRC_CONTROL;
    c->next = s->controls;
    s->controls = c;
    ep_ctl(s, EPOLL_CTL_ADD, &c->src, EPOLLIN);
  }
}

static void on_listen(struct shim *s) {
  for (;;) {
    int fd = accept4(s->listen.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return; /* EAGAIN, or a client that left before we took it */
    int size = CLIENT_SNDBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    struct shim_client *c = xcalloc(1, sizeof(*c));
    c->src.fd = fd;
    c->src.kind = SRC_CLIENT;
    c->reading = true;
    c->next = s->clients;
    s->clients = c;
    if (!s->stdin_paused) ep_ctl(s, EPOLL_CTL_ADD, &c->src, EPOLLIN);
  }
}

/* ---- container output ---- */

void shim_log_flush(struct shim *s) {
  if (s->log_fd < 0) return;
  char now[48];
  time_now_rfc3339nano(now, sizeof(now));
  for (int i = 0; i < 2; i++) logline_flush(&s->out[i].ll, now, &s->logbuf);
  shim_log_write(s, s->logbuf.p, s->logbuf.len);
  buf_free(&s->logbuf);
}

static void output_close(struct shim *s, struct shim_output *o) {
  if (s->o.tty) stdin_close(s); /* the pty master was stdin too: drop what waits, resume the clients */
  close(o->src.fd);
  o->src.fd = -1;
}

static void on_output(struct shim *s, struct shim_output *o, uint32_t events) {
  if (events & EPOLLOUT) stdin_flush(s); /* the pty master, writable again */
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  ssize_t n = read(o->src.fd, s->iobuf + 1, sizeof(s->iobuf) - 1);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) { /* end of file; EIO on a pty master once no one holds the terminal */
    output_close(s, o);
    return;
  }
  if (s->log_fd >= 0) {
    char now[48];
    time_now_rfc3339nano(now, sizeof(now));
    logline_feed(&o->ll, s->iobuf + 1, (size_t)n, now, &s->logbuf);
    shim_log_write(s, s->logbuf.p, s->logbuf.len); /* one write per batch */
    if (s->logbuf.cap > LOGBUF_KEEP) buf_free(&s->logbuf);
    else buf_reset(&s->logbuf);
  }
  s->iobuf[0] = o->stream;
  for (struct shim_client *c = s->clients, *next; c; c = next) {
    next = c->next;
    /* never block the container on a client: one that cannot keep up is dropped */
    if (send(c->src.fd, s->iobuf, (size_t)n + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) client_drop(s, c);
  }
}

/* ---- signals and sync ---- */

static void on_signal(struct shim *s) {
  struct signalfd_siginfo si[8];
  while (read(s->sig.fd, si, sizeof(si)) > 0) {
  }
  int status;
  pid_t pid;
  /* a subreaper inherits every orphan of the container: reap them all, keep init's status */
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid != s->init_pid || s->init_exited) continue;
    s->init_exited = true;
    clock_gettime(CLOCK_REALTIME, &s->finished);
    s->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  }
}

/* on_sync: 1 when berthd is gone before "start", 2 when start failed, else 0 */
static int on_sync(struct shim *s) {
  char msg[256];
  ssize_t n = recv(s->sync.fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n <= 0) {
    close(s->sync.fd);
    s->sync.fd = -1;
    /* after "start" the container is on its own: the shim outlives berthd */
    return s->started ? 0 : 1;
  }
  msg[n] = '\0';
  if (strcmp(msg, "start") != 0 || s->started) return 0; /* nothing else is defined yet */
  _cleanup_berr_ struct berth_error *e = NULL;
  if (shim_runtime_start(s, &e) < 0) {
    shim_sync_send(s, "error %s", berr_msg(e));
    return 2;
  }
  /* exec mode: the pty master arrived with the process, after the loop was set up */
  if (s->o.exec_id && s->o.tty && s->out[0].src.fd >= 0) ep_ctl(s, EPOLL_CTL_ADD, &s->out[0].src, EPOLLIN);
  s->started = true;
  shim_sync_send(s, "started");
  return 0;
}

static void dispatch(struct shim *s, struct epoll_event *ev, int *result) {
  struct shim_src *src = ev->data.ptr;
  if (src->fd < 0) return; /* closed earlier in this batch */
  switch (src->kind) {
  case SRC_SIGNAL: on_signal(s); break;
  case SRC_SYNC: *result = on_sync(s); break;
  case SRC_LISTEN: on_listen(s); break;
  case SRC_CONTROL_LISTEN: on_control_listen(s); break;
  case SRC_CONTROL: on_control(s, (struct shim_client *)src); break;
  case SRC_CLIENT: on_client(s, (struct shim_client *)src, ev->events); break;
  case SRC_OUTPUT: on_output(s, (struct shim_output *)src, ev->events); break;
  case SRC_STDIN:
    if (ev->events & EPOLLOUT) stdin_flush(s);
    else if (ev->events & (EPOLLERR | EPOLLHUP)) stdin_close(s);
    break;
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int shim_loop_run(struct shim *s) {
  struct epoll_event ev[16];
  int64_t deadline = -1;
  int result = 0;
  on_signal(s); /* init may have exited before the loop began */
  for (;;) {
    if (s->init_exited) {
      if (s->out[0].src.fd < 0 && s->out[1].src.fd < 0) return 0;
      if (deadline < 0) deadline = now_ms() + (s->o.tty ? DRAIN_PTY_MS : DRAIN_PIPES_MS);
    }
    int timeout = -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) return 0; /* someone outside the container still holds its stdout */
      timeout = (int)left;
    }
    int n = epoll_wait(s->epfd, ev, ARRAY_SIZE(ev), timeout);
    if (n < 0 && errno != EINTR) return 0;
    for (int i = 0; i < n && result == 0; i++) dispatch(s, &ev[i], &result);
    while (s->dead) {
      struct shim_client *c = s->dead;
      s->dead = c->next;
      free(c);
    }
    if (result) return result;
  }
}
