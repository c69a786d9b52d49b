/* shim.h - berth-shim's internal state, shared by its files (the shim exposes no library) */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include "common/buf.h"
#include "common/error.h"
#include "shim/logline.h"

#define SHIM_SYNC_FD 3
/* largest attach packet: 1 stream byte + data */
#define SHIM_PACKET_MAX 32768

struct shim_opts {
  const char *id, *bundle, *state_dir, *runtime, *runtime_root, *log_driver, *log_path;
  const char *exec_id, *process; /* exec mode: run `RUNTIME exec --process FILE` at start */
  bool stdin_open, stdin_once, tty;
  const char *log_max_size, *log_max_file; /* json-file rotation: bytes (0: none), number of files */
};

/* every fd in the epoll set starts with this, so one pointer tells what woke up */
enum shim_src_kind { SRC_SIGNAL, SRC_SYNC, SRC_LISTEN, SRC_CLIENT, SRC_OUTPUT, SRC_STDIN, SRC_CONTROL_LISTEN, SRC_CONTROL };
struct shim_src {
  int fd;
  enum shim_src_kind kind;
};

struct shim_client {
  struct shim_src src;
  struct shim_client *next;
  bool reading; /* false once the client shut down its write side */
};

struct shim_output {
  struct shim_src src;
  char stream; /* 1 stdout, 2 stderr */
  struct logline_stream ll;
};

struct shim {
  struct shim_opts o;
  char *pid_file, *init_pid_file, *runtime_log, *attach_path, *console_path, *control_path, *exit_file;
  int epfd;
  struct shim_src sig, sync, listen, control; /* control: "resize ROWS COLS" for a tty */
  struct shim_output out[2];  /* out[0].src.fd is the pty master with --tty */
  struct shim_src in;         /* write side of the container's stdin; the pty master with --tty */
  int log_fd;                 /* -1 with --log-driver none */
  int64_t log_size, log_max_size; /* bytes in the live log file; rotate past max (0: never) */
  int log_max_file;
  int console_fd;             /* --console-socket listener while create runs */
  int oom_fd;                 /* the memory cgroup's oom_kill counter, -1 when unknown */
  int child_fds[3];           /* exec mode: the process's stdio, kept until start runs it */
  struct shim_client *clients, *controls;
  pid_t init_pid;
  int exit_code;              /* status, or 128+signal */
  struct timespec finished;
  bool started, init_exited, stdin_close_pending, stdin_paused;
  size_t stdin_len, stdin_off; /* bytes pending for the container's stdin */
  struct buf logbuf;
  struct shim_client *dead; /* dropped during one batch of events, freed after it */
  /* big buffers last: a page of them costs memory only once it is touched */
  char iobuf[SHIM_PACKET_MAX]; /* iobuf[0] is the stream byte of an attach packet */
  char stdin_buf[SHIM_PACKET_MAX];
  char pending[2][LOGLINE_MAX]; /* the log's unfinished lines, per stream */
};

/* runtime.c: the OCI runtime CLI */
int shim_runtime_create(struct shim *s, int fds[3], struct berth_error **err);
int shim_runtime_start(struct shim *s, struct berth_error **err);
void shim_runtime_delete(struct shim *s);
/* shim_runtime_exec: exec mode's start: `RUNTIME exec -d --process FILE`, then the pty and the pid */
int shim_runtime_exec(struct shim *s, struct berth_error **err);

/* stdio.c: the container's stdio and the pty from --console-socket */
int shim_stdio_create(struct shim *s, int child_fds[3], struct berth_error **err);
int shim_console_listen(struct shim *s, struct berth_error **err);
int shim_console_receive(struct shim *s, struct berth_error **err);
int shim_attach_listen(struct shim *s, struct berth_error **err);
int shim_control_listen(struct shim *s, struct berth_error **err);

/* loop.c: the event loop; returns when the container has exited (0) or berthd gave up on it (1) */
int shim_loop_setup(struct shim *s, struct berth_error **err);
int shim_loop_run(struct shim *s);
void shim_clients_close(struct shim *s);
void shim_log_flush(struct shim *s);
void shim_sync_send(struct shim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* oom.c: the OOM killer's counter of the container's memory cgroup */
void shim_oom_watch(struct shim *s);
bool shim_oom_killed(struct shim *s);

/* logfile.c: json-file writes with rotation */
void shim_log_open_size(struct shim *s);
void shim_log_write(struct shim *s, const char *p, size_t n);
