/* ps.c - `ps`: the container's processes, as runc prints them (host ps rows, or a JSON pid list) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

/* the column of the PID field in ps's header line, -1 if absent */
static int pid_column(const char *header) {
  _cleanup_free_ char *copy = xstrdup(header);
  char *save = NULL;
  int col = 0;
  for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
    if (strcmp(t, "PID") == 0) return col;
  return -1;
}

static pid_t field_pid(const char *line, int col) {
  _cleanup_free_ char *copy = xstrdup(line);
  char *save = NULL;
  int i = 0;
  for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), i++)
    if (i == col) return (pid_t)atoi(t);
  return -1;
}

static bool has_pid(const pid_t *pids, size_t n, pid_t p) {
  for (size_t i = 0; i < n; i++)
    if (pids[i] == p) return true;
  return false;
}

/* run the host's ps and keep the header and the rows of our pids (ps is a reporting tool here,
 * as for docker top: it formats what the user asks with PS_ARGS) */
static int ps_table(char **ps_args, const pid_t *pids, size_t n, struct berth_error **err) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return berr_sys(err, errno, "pipe");
  pid_t child = fork();
  if (child < 0) return berr_sys(err, errno, "fork ps");
  if (child == 0) {
    char **argv = strv_push(NULL, "ps");
    if (!ps_args || !*ps_args) argv = strv_push(argv, "-ef");
    for (char **a = ps_args; a && *a; a++) argv = strv_push(argv, *a);
    dup2(fds[1], 1);
    execvp("ps", argv);
    _exit(127);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  int col = -1;
  bool header = true;
  while (f && getline(&line, &cap, f) > 0) {
    if (header) {
      header = false;
      col = pid_column(line);
      fputs(line, stdout);
    } else if (col >= 0 && has_pid(pids, n, field_pid(line, col))) {
      fputs(line, stdout);
    }
  }
  if (f) fclose(f);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return berr(err, EIO, "ps exited with status %d", WEXITSTATUS(status));
  if (col < 0) return berr(err, EINVAL, "ps output has no PID column");
  return 0;
}

int rt_cmd_ps(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  bool as_json = false;
  int ch;
  while ((ch = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
    if (ch == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0)) as_json = optarg[0] == 'j';
    else return berr(err, EINVAL, "usage: berth-runtime ps [--format table|json] ID [PS_ARGS...]");
  }
  if (optind >= argc) return berr(err, EINVAL, "usage: berth-runtime ps [--format table|json] ID [PS_ARGS...]");
  struct rt_state st;
  int r = rt_state_load(o, argv[optind], &st, err);
  if (r < 0) return r;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (rt_state_status(o, &st) == RT_STOPPED) r = 0; /* nothing left to list */
  else if (!st.cgroup_path || rt_cgroup_pids(st.cgroup_path, &pids, &n) < 0)
    r = berr(err, ENOENT, "container \"%s\" has no cgroup to list processes from", st.id);
  rt_state_clear(&st);
  if (r < 0) return r;
  if (!as_json) return ps_table(argv + optind + 1, pids, n, err);
  _cleanup_json_ json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(pids[i]));
  json_dumpf(a, stdout, JSON_COMPACT);
  putchar('\n');
  return 0;
}
