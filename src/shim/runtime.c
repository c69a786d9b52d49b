/* runtime.c - run the OCI runtime's create, start and delete, and turn its failures into sentences */
#include "shim/shim.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* spawn_wait: run argv with fds[0..2] as its stdio and wait for it; *status as from waitpid */
static int spawn_wait(char *const argv[], const int fds[3], int *status, struct berth_error **err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, dfl;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; i < 3; i++)
    if (fds[i] != i) posix_spawn_file_actions_adddup2(&fa, fds[i], i);
  /* the shim ignores and blocks signals; neither may leak into the runtime or the container */
  sigemptyset(&none);
  sigemptyset(&dfl);
  static const int reset[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD};
  for (size_t i = 0; i < ARRAY_SIZE(reset); i++) sigaddset(&dfl, reset[i]);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  pid_t pid;
  int r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0) return berr_sys(err, r, "exec \"%s\"", argv[0]);
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) return berr_sys(err, errno, "wait for \"%s\"", argv[0]);
  }
  return 0;
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/* last_error_line: the runtime's last log line written after offset `from`, as a message:
 * "error: MSG" (berth-runtime's text format) gives MSG, runc's logrus `msg="MSG"` gives MSG */
static char *last_error_line(const char *path, off_t from) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= from) return NULL;
  char tail[4096];
  off_t start = size - from > (off_t)sizeof(tail) - 1 ? size - (off_t)sizeof(tail) + 1 : from;
  ssize_t n = pread(fd, tail, sizeof(tail) - 1, start);
  if (n <= 0) return NULL;
  while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' ')) n--;
  tail[n] = '\0';
  char *line = memrchr(tail, '\n', (size_t)n);
  line = line ? line + 1 : tail;
  if (strncmp(line, "error: ", 7) == 0) return xstrdup(line + 7);
  char *msg = strstr(line, " msg=\"");
  if (msg) {
    msg += 6;
    char *end = msg;
    while (*end && !(*end == '"' && end[-1] != '\\')) end++;
    return xstrndup(msg, (size_t)(end - msg));
  }
  return *line ? xstrdup(line) : NULL;
}

/* run: one runtime command; a failure becomes the runtime's own message when it logged one */
static int run(struct shim *s, const char *what, char *const argv[], const int fds[3], struct berth_error **err) {
  off_t from = file_size(s->runtime_log);
  int status = 0;
  int r = spawn_wait(argv, fds, &status, err);
  if (r < 0) return r;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  _cleanup_free_ char *msg = last_error_line(s->runtime_log, from);
  if (msg) return berr(err, EIO, "%s", msg);
  if (WIFSIGNALED(status)) return berr(err, EIO, "runtime %s killed by signal %d", what, WTERMSIG(status));
  return berr(err, EIO, "runtime %s exited with status %d", what, WEXITSTATUS(status));
}

static int read_init_pid(struct shim *s, struct berth_error **err) {
  _cleanup_free_ char *text = NULL;
  int r = read_file(s->init_pid_file, &text, NULL, err);
  if (r < 0) return r;
  char *end;
  long pid = strtol(text, &end, 10);
  if (end == text || pid <= 0 || pid > 0x3fffffff || (*end && *end != '\n'))
    return berr(err, EINVAL, "bad pid \"%s\" in \"%s\"", text, s->init_pid_file);
  s->init_pid = (pid_t)pid;
  return 0;
}

int shim_runtime_create(struct shim *s, int fds[3], struct berth_error **err) {
  const char *argv[16];
  size_t n = 0;
  const char *head[] = {s->o.runtime, "--root", s->o.runtime_root, "--log", s->runtime_log, "create",
                        "--bundle", s->o.bundle, "--pid-file", s->init_pid_file};
  for (size_t i = 0; i < ARRAY_SIZE(head); i++) argv[n++] = head[i];
  if (s->o.tty) {
    argv[n++] = "--console-socket";
    argv[n++] = s->console_path;
  }
  argv[n++] = s->o.id;
  argv[n] = NULL;
  int r = run(s, "create", (char *const *)argv, fds, err);
  if (r < 0) return r;
  return read_init_pid(s, err);
}

int shim_runtime_start(struct shim *s, struct berth_error **err) {
  if (s->o.exec_id) return shim_runtime_exec(s, err);
  const char *argv[] = {s->o.runtime, "--root", s->o.runtime_root, "--log", s->runtime_log, "start", s->o.id, NULL};
  static const int fds[3] = {0, 1, 2};
  return run(s, "start", (char *const *)argv, fds, err);
}

void shim_runtime_delete(struct shim *s) {
  const char *argv[] = {s->o.runtime, "--root", s->o.runtime_root, "--log", s->runtime_log,
                        "delete", "--force", s->o.id, NULL};
  static const int fds[3] = {0, 1, 2};
  _cleanup_berr_ struct berth_error *e = NULL;
  run(s, "delete", (char *const *)argv, fds, &e); /* nothing is left to tell: berthd cleans up */
}

int shim_runtime_exec(struct shim *s, struct berth_error **err) {
  const char *argv[20];
  size_t n = 0;
  const char *head[] = {s->o.runtime, "--root", s->o.runtime_root, "--log", s->runtime_log, "exec", "--process",
                        s->o.process, "--pid-file", s->init_pid_file, "--detach"};
  for (size_t i = 0; i < ARRAY_SIZE(head); i++) argv[n++] = head[i];
  if (s->o.tty) {
    argv[n++] = "--console-socket";
    argv[n++] = s->console_path;
  }
  argv[n++] = s->o.id;
  argv[n] = NULL;
  int r = run(s, "exec", (char *const *)argv, s->child_fds, err);
  /* only the process may hold its stdio now, so that its exit gives EOF */
  for (int i = 0; i < 3; i++) {
    if (s->child_fds[i] < 0) continue;
    close(s->child_fds[i]);
    for (int j = i + 1; j < 3; j++)
      if (s->child_fds[j] == s->child_fds[i]) s->child_fds[j] = -1;
    s->child_fds[i] = -1;
  }
  if (r < 0) return r;
  if (s->o.tty && (r = shim_console_receive(s, err)) < 0) return r;
  return read_init_pid(s, err);
}
