/* main.c - berth-shim: holds one container's stdio, writes its log, serves attach, records its exit */
#include "shim/shim.h"
#include "common/fs.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif

static const char usage[] =
    "Usage: berth-shim --id ID --bundle DIR --state-dir DIR --runtime PATH --runtime-root DIR\n"
    "                  --log-driver json-file|none [--log-path FILE] [--stdin] [--stdin-once] [--tty]\n"
    "                  [--log-max-size BYTES] [--log-max-file N]  (json-file rotation)\n"
    "                  [--exec-id EID --process FILE]  (exec mode: run a process in the running container)\n"
    "Started by berthd with fd 3 = a SOCK_SEQPACKET sync socket (see docs/internals.md).\n";

/* report: a fatal error goes to stderr and, once fd 3 is known to be the sync socket, to berthd */
static int report(struct shim *s, const char *msg) {
  char line[1100];
  int n = snprintf(line, sizeof(line), "berth-shim: %s\n", msg);
  if (n > 0) write_all(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
  shim_sync_send(s, "error %s", msg);
  return 1;
}

enum { OPT_ID = 256, OPT_BUNDLE, OPT_STATE, OPT_RUNTIME, OPT_RROOT, OPT_LOGDRV, OPT_LOGPATH, OPT_EXEC_ID, OPT_PROCESS, OPT_LOGSIZE, OPT_LOGFILES, OPT_STDIN,
       OPT_STDIN_ONCE, OPT_TTY, OPT_HELP };

static const struct option options[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"bundle", required_argument, NULL, OPT_BUNDLE},
    {"state-dir", required_argument, NULL, OPT_STATE},
    {"runtime", required_argument, NULL, OPT_RUNTIME},
    {"runtime-root", required_argument, NULL, OPT_RROOT},
    {"log-driver", required_argument, NULL, OPT_LOGDRV},
    {"log-path", required_argument, NULL, OPT_LOGPATH},
    {"exec-id", required_argument, NULL, OPT_EXEC_ID},
    {"process", required_argument, NULL, OPT_PROCESS},
    {"log-max-size", required_argument, NULL, OPT_LOGSIZE},
    {"log-max-file", required_argument, NULL, OPT_LOGFILES},
    {"stdin", no_argument, NULL, OPT_STDIN},
    {"stdin-once", no_argument, NULL, OPT_STDIN_ONCE},
    {"tty", no_argument, NULL, OPT_TTY},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* valid_id: what an OCI runtime accepts as a container id, and safe as a file name */
static bool valid_id(const char *id) {
  if (!*id || strlen(id) > 1024 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) return false;
  for (const char *p = id; *p; p++)
    if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') || strchr("_.+-", *p)))
      return false;
  return true;
}

/* validate_rotation: --log-max-size is bytes (0: no rotation), --log-max-file at least 1 */
static int validate_rotation(const struct shim_opts *o, struct berth_error **err) {
  const char *vals[] = {o->log_max_size, o->log_max_file};
  const char *names[] = {"--log-max-size", "--log-max-file"};
  for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
    if (!vals[i]) continue;
    char *end;
    long long v = strtoll(vals[i], &end, 10);
    if (!*vals[i] || *end || v < (long long)i) return berr(err, EINVAL, "invalid %s \"%s\"", names[i], vals[i]);
  }
  return 0;
}

static int validate(const struct shim_opts *o, struct berth_error **err) {
  const struct { const char *name, *value; } required[] = {
      {"--id", o->id}, {"--bundle", o->bundle}, {"--state-dir", o->state_dir}, {"--runtime", o->runtime},
      {"--runtime-root", o->runtime_root}, {"--log-driver", o->log_driver}};
  for (size_t i = 0; i < ARRAY_SIZE(required); i++)
    if (!required[i].value || !*required[i].value) return berr(err, EINVAL, "%s is required", required[i].name);
  if (!valid_id(o->id)) return berr(err, EINVAL, "invalid container id \"%s\"", o->id);
  /* the shim works from "/" so that it pins no mount: every path must be absolute */
  const struct { const char *name, *value; } paths[] = {
      {"--bundle", o->bundle}, {"--state-dir", o->state_dir}, {"--runtime-root", o->runtime_root},
      {"--log-path", o->log_path}, {"--process", o->process}};
  for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
    if (paths[i].value && paths[i].value[0] != '/')
      return berr(err, EINVAL, "%s \"%s\" is not an absolute path", paths[i].name, paths[i].value);
  if (!o->exec_id != !o->process) return berr(err, EINVAL, "--exec-id and --process go together");
  if (o->exec_id && !valid_id(o->exec_id)) return berr(err, EINVAL, "invalid exec id \"%s\"", o->exec_id);
  if (strchr(o->runtime, '/') && o->runtime[0] != '/')
    return berr(err, EINVAL, "--runtime \"%s\" must be an absolute path or a name in PATH", o->runtime);
  if (strcmp(o->log_driver, "json-file") == 0) {
    if (!o->log_path) return berr(err, EINVAL, "--log-path is required with --log-driver json-file");
  } else if (strcmp(o->log_driver, "none") != 0) {
    return berr(err, EINVAL, "log driver \"%s\" is not supported (json-file, none)", o->log_driver);
  }
  return validate_rotation(o, err);
}

/* parse: 0, 1 for --help, or -EINVAL with the message in err */
static int parse(int argc, char **argv, struct shim_opts *o, struct berth_error **err) {
  const char **strs[] = {[OPT_ID - OPT_ID] = &o->id,         [OPT_BUNDLE - OPT_ID] = &o->bundle,
                         [OPT_STATE - OPT_ID] = &o->state_dir, [OPT_RUNTIME - OPT_ID] = &o->runtime,
                         [OPT_RROOT - OPT_ID] = &o->runtime_root, [OPT_LOGDRV - OPT_ID] = &o->log_driver,
                         [OPT_LOGPATH - OPT_ID] = &o->log_path, [OPT_EXEC_ID - OPT_ID] = &o->exec_id,
                         [OPT_PROCESS - OPT_ID] = &o->process, [OPT_LOGSIZE - OPT_ID] = &o->log_max_size,
                         [OPT_LOGFILES - OPT_ID] = &o->log_max_file};
  bool *flags[] = {[OPT_STDIN - OPT_STDIN] = &o->stdin_open, [OPT_STDIN_ONCE - OPT_STDIN] = &o->stdin_once,
                   [OPT_TTY - OPT_STDIN] = &o->tty};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
    if (c >= OPT_ID && c <= OPT_LOGFILES) *strs[c - OPT_ID] = optarg;
    else if (c >= OPT_STDIN && c <= OPT_TTY) *flags[c - OPT_STDIN] = true;
    else if (c == OPT_HELP) return 1;
    else return berr(err, EINVAL, "unknown or incomplete option \"%s\"", argv[optind - 1]);
  }
  if (optind < argc) return berr(err, EINVAL, "unexpected argument \"%s\"", argv[optind]);
  return validate(o, err);
}

/* process_setup: own session, reaper of the container's orphans, deaf to terminal signals */
static void process_setup(void) {
  static const int ignored[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP};
  for (size_t i = 0; i < ARRAY_SIZE(ignored); i++) signal(ignored[i], SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  setsid();
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  /* pin no mount point with our cwd; "/" cannot fail in practice, and staying put would be harmless */
  (void)!chdir("/");
}

static void make_paths(struct shim *s) {
  const char *dir = s->o.state_dir;
  s->pid_file = path_join(dir, "shim.pid");
  s->init_pid_file = path_join(dir, "init.pid");
  s->runtime_log = path_join(dir, "runtime.log");
  s->attach_path = path_join(dir, "attach");
  s->console_path = path_join(dir, "console.sock");
  if (s->o.exec_id) {
    /* the runtime connects to it by path (108 bytes at most): STATE/../c-EID12, not STATE/console.sock */
    const char *slash = strrchr(dir, '/');
    free(s->console_path);
    s->console_path = xasprintf("%.*s/c-%.12s", (int)(slash ? slash - dir : 0), dir, s->o.exec_id);
  }
  s->control_path = path_join(dir, "control");
  s->exit_file = path_join(dir, "exit");
}

static void close_child_fds(int fds[3]) {
  for (int i = 0; i < 3; i++) {
    if (fds[i] < 0) continue;
    close(fds[i]);
    for (int j = i + 1; j < 3; j++)
      if (fds[j] == fds[i]) fds[j] = -1;
    fds[i] = -1;
  }
}

/* prepare: everything before the runtime runs: pid file, log, attach socket, stdio */
static int prepare(struct shim *s, int child[3], struct berth_error **err) {
  int r = mkdir_p(s->o.state_dir, 0700, err);
  if (r < 0) return r;
  char pid[24];
  int n = snprintf(pid, sizeof(pid), "%d", (int)getpid());
  if ((r = write_file_atomic(s->pid_file, pid, (size_t)n, 0644, 0, err)) < 0) return r;
  if (strcmp(s->o.log_driver, "json-file") == 0) {
    s->log_fd = open(s->o.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s->log_fd < 0) return berr_sys(err, errno, "open log \"%s\"", s->o.log_path);
    s->log_max_size = s->o.log_max_size ? strtoll(s->o.log_max_size, NULL, 10) : 0;
    s->log_max_file = s->o.log_max_file ? (int)strtol(s->o.log_max_file, NULL, 10) : 1;
    shim_log_open_size(s);
  }
  if ((r = shim_attach_listen(s, err)) < 0) return r;
  if (s->o.tty && (r = shim_console_listen(s, err)) < 0) return r;
  if (s->o.tty && (r = shim_control_listen(s, err)) < 0) return r;
  return shim_stdio_create(s, child, err);
}

/* create: run the runtime's create and report the result to berthd; in exec mode only get
 * ready ("created 0"): the process runs at "start", once berthd has connected its attach */
static int create(struct shim *s, struct berth_error **err) {
  int child[3] = {-1, -1, -1};
  int r = prepare(s, child, err);
  if (s->o.exec_id) {
    memcpy(s->child_fds, child, sizeof(child));
    if (r == 0) r = shim_loop_setup(s, err);
    if (r == 0) shim_sync_send(s, "created 0");
    return r;
  }
  if (r == 0) r = shim_runtime_create(s, child, err);
  close_child_fds(child); /* only the container may hold them now, so its exit gives EOF */
  if (r < 0) return r;
  if (s->o.tty && (r = shim_console_receive(s, err)) < 0) return r;
  if ((r = shim_loop_setup(s, err)) < 0) return r;
  shim_oom_watch(s);
  shim_sync_send(s, "created %d", (int)s->init_pid);
  return 0;
}

static void write_exit_file(struct shim *s) {
  char at[48], line[96];
  time_format_rfc3339nano(&s->finished, at, sizeof(at));
  int n = snprintf(line, sizeof(line), "%d %s%s\n", s->exit_code, at, shim_oom_killed(s) ? " oom" : "");
  _cleanup_berr_ struct berth_error *e = NULL;
  write_file_atomic(s->exit_file, line, (size_t)n, 0644, 0, &e);
}

static void shim_init(struct shim *s) {
  s->sync.fd = s->listen.fd = s->control.fd = s->sig.fd = s->epfd = s->in.fd = s->log_fd = s->console_fd = s->oom_fd = -1;
  s->out[0].src.fd = s->out[1].src.fd = -1;
  s->child_fds[0] = s->child_fds[1] = s->child_fds[2] = -1;
  s->out[0].stream = 1;
  s->out[1].stream = 2;
  s->out[0].ll.name = "stdout";
  s->out[1].ll.name = "stderr";
  s->out[0].ll.pending = s->pending[0];
  s->out[1].ll.pending = s->pending[1];
}

int main(int argc, char **argv) {
  static struct shim s; /* static: its buffers stay untouched, so unpaid for, until used */
  shim_init(&s);
  close_range(SHIM_SYNC_FD + 1, ~0U, 0); /* nothing but the sync socket is meant for us */
  int type = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(SHIM_SYNC_FD, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET) {
    s.sync.fd = SHIM_SYNC_FD;
    fd_set_cloexec(SHIM_SYNC_FD, 1);
  }
  _cleanup_berr_ struct berth_error *err = NULL;
  int r = parse(argc, argv, &s.o, &err);
  if (r == 1) {
    write_all(1, usage, sizeof(usage) - 1);
    return 0;
  }
  if (r < 0) {
    write_all(2, usage, sizeof(usage) - 1);
    return report(&s, berr_msg(err));
  }
  if (s.sync.fd < 0) return report(&s, "fd 3 is not a SOCK_SEQPACKET socket: berth-shim is started by berthd");
  process_setup();
  make_paths(&s);
  if (create(&s, &err) < 0) {
    report(&s, berr_msg(err));
    if (s.init_pid > 0 && !s.o.exec_id) shim_runtime_delete(&s);
    unlink(s.attach_path);
    unlink(s.control_path);
    unlink(s.console_path);
    return 1;
  }
  r = shim_loop_run(&s);
  if (r == 0) {
    shim_log_flush(&s);
    write_exit_file(&s);
  }
  shim_clients_close(&s);
  if (!s.o.exec_id) shim_runtime_delete(&s); /* an exec's end is not its container's */
  unlink(s.attach_path);
  unlink(s.control_path);
  return r == 2 ? 1 : 0;
}
