/* main.c - berth-runtime: the runc-compatible command line, one small function per command */
#define LOG_TAG "runtime"
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"


struct cmd {
  const char *name;
  int (*fn)(const struct rt_opts *o, int argc, char **argv, struct berth_error **err);
  const char *usage;
};

static int need_id(int argc, char **argv, int extra, const char *usage, struct berth_error **err) {
  if (optind >= argc || argc - optind > 1 + extra) return berr(err, EINVAL, "usage: berth-runtime %s", usage);
  return 0;
}

static int parse_create_opts(int argc, char **argv, struct rt_create_opts *c, bool *detach, const char *usage,
                             struct berth_error **err) {
  static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                       {"pid-file", required_argument, NULL, 'p'},
                                       {"console-socket", required_argument, NULL, 'c'},
                                       {"detach", no_argument, NULL, 'd'},
                                       {"no-pivot", no_argument, NULL, 'P'},
                                       {"no-new-keyring", no_argument, NULL, 'K'},
                                       {NULL, 0, NULL, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "+b:p:c:d", opts, NULL)) != -1) {
    switch (ch) {
    case 'b': c->bundle = optarg; break;
    case 'p': c->pid_file = optarg; break;
    case 'c': c->console_socket = optarg; break;
    case 'd':
      if (!detach) return berr(err, EINVAL, "unknown option --detach; usage: berth-runtime %s", usage);
      *detach = true;
      break;
    case 'P': return berr(err, EINVAL, "--no-pivot is not supported");
    case 'K': break; /* no session keyring is created anyway */
    default: return berr(err, EINVAL, "usage: berth-runtime %s", usage);
    }
  }
  int r = need_id(argc, argv, 0, usage, err);
  c->id = r == 0 ? argv[optind] : NULL;
  return r;
}

static int cmd_create(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  struct rt_create_opts c = {0};
  pid_t pid;
  int r = parse_create_opts(argc, argv, &c, NULL, "create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] ID", err);
  if (r == 0) r = rt_create(o, &c, &pid, err);
  if (r == 0) log_debug("Created container \"%s\", init pid %d", c.id, (int)pid);
  return r;
}

static int cmd_start(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  int r = need_id(argc, argv, 0, "start ID", err);
  return r < 0 ? r : rt_start(o, argv[optind], err);
}

static int cmd_state(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  struct rt_state st;
  int r = need_id(argc, argv, 0, "state ID", err);
  if (r == 0) r = rt_state_load(o, argv[optind], &st, err);
  if (r < 0) return r;
  _cleanup_json_ json_t *j = rt_state_json(&st, rt_state_status(o, &st));
  rt_state_clear(&st);
  json_dumpf(j, stdout, JSON_INDENT(2));
  putchar('\n');
  return 0;
}

static int cmd_kill(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
  bool all = false;
  int ch, sig = SIGTERM;
  while ((ch = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
    if (ch != 'a') return berr(err, EINVAL, "usage: berth-runtime kill [--all] ID [SIGNAL]");
    all = true;
  }
  int r = need_id(argc, argv, 1, "kill [--all] ID [SIGNAL]", err);
  if (r < 0) return r;
  if (optind + 1 < argc && (sig = signal_parse(argv[optind + 1])) < 0)
    return berr(err, EINVAL, "unknown signal \"%s\"", argv[optind + 1]);
  struct rt_state st;
  if ((r = rt_state_load(o, argv[optind], &st, err)) < 0) return r;
  r = rt_kill(o, &st, sig, all, err);
  rt_state_clear(&st);
  return r;
}

static int cmd_delete(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  bool force = false;
  int ch;
  while ((ch = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
    if (ch != 'f') return berr(err, EINVAL, "usage: berth-runtime delete [--force] ID");
    force = true;
  }
  int r = need_id(argc, argv, 0, "delete [--force] ID", err);
  if (r < 0) return r;
  struct rt_state st;
  struct berth_error *lerr = NULL;
  r = rt_state_load(o, argv[optind], &st, &lerr);
  if (r == -ENOENT && force) { /* as runc: forcing the delete of nothing is not an error */
    berr_free(lerr);
    return 0;
  }
  if (r == -EBUSY && force) { /* a create that died half way: only its directory is left */
    berr_free(lerr);
    _cleanup_free_ char *dir = rt_statedir(o, argv[optind]);
    return rm_rf(dir, err);
  }
  if (r < 0) {
    *err = lerr;
    return r;
  }
  r = rt_destroy(o, &st, force, err);
  rt_state_clear(&st);
  return r;
}

/* run in the foreground: forward signals to the init until it exits, then delete the container */
static int wait_init(pid_t pid, int *status) {
  sigset_t set;
  sigemptyset(&set);
  int fwd[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};
  for (size_t i = 0; i < ARRAY_SIZE(fwd); i++) sigaddset(&set, fwd[i]);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (;;) {
    pid_t w = waitpid(pid, status, WNOHANG);
    if (w == pid) return 0;
    if (w < 0 && errno != EINTR) return -errno;
    int sig = sigwaitinfo(&set, NULL);
    if (sig > 0 && sig != SIGCHLD) kill(pid, sig);
  }
}

static int cmd_run(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  struct rt_create_opts c = {0}; /* the init stays our child: run waits for it */
  bool detach = false;
  pid_t pid;
  int status = 0;
  int r = parse_create_opts(argc, argv, &c, &detach, "run [--bundle DIR] [--pid-file FILE] [-d] ID", err);
  if (r == 0) r = rt_create(o, &c, &pid, err);
  if (r < 0) return r;
  struct rt_state st;
  r = rt_start(o, c.id, err);
  if (r == 0 && detach) return 0;
  if (r == 0 && wait_init(pid, &status) < 0) r = berr_sys(err, errno, "wait for the container");
  if (rt_state_load(o, c.id, &st, NULL) == 0) {
    rt_destroy(o, &st, true, r < 0 ? NULL : err);
    rt_state_clear(&st);
  }
  if (r < 0) return r;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_exec(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  static const struct option opts[] = {
      {"process", required_argument, NULL, 'p'}, {"detach", no_argument, NULL, 'd'},
      {"pid-file", required_argument, NULL, 'P'}, {"console-socket", required_argument, NULL, 'c'},
      {"tty", no_argument, NULL, 't'}, {"cwd", required_argument, NULL, 'w'},
      {"env", required_argument, NULL, 'e'}, {"user", required_argument, NULL, 'u'},
      {"cap", required_argument, NULL, 'C'}, {NULL, 0, NULL, 0}};
  static const char usage[] = "exec [--process FILE] [-d] [--pid-file F] [--console-socket P] [-t] [--cwd D] [-e K=V] [-u UID[:GID]] [--cap CAP] ID [COMMAND...]";
  struct rt_exec_opts x = {0};
  _cleanup_strv_ char **env = NULL, **caps = NULL;
  bool detach = false;
  int ch, status = 0;
  while ((ch = getopt_long(argc, argv, "+p:dc:te:u:", opts, NULL)) != -1) {
    switch (ch) {
    case 'p': x.process_file = optarg; break;
    case 'd': detach = true; break;
    case 'P': x.pid_file = optarg; break;
    case 'c': x.console_socket = optarg; break;
    case 't': x.tty = true; break;
    case 'w': x.cwd = optarg; break;
    case 'e': env = strv_push(env, optarg); break;
    case 'u': x.user = optarg; break;
    case 'C': caps = strv_push(caps, optarg); break;
    default: return berr(err, EINVAL, "usage: berth-runtime %s", usage);
    }
  }
  if (optind >= argc || (!x.process_file && optind + 1 >= argc)) return berr(err, EINVAL, "usage: berth-runtime %s", usage);
  x.id = argv[optind];
  x.args = argv + optind + 1;
  x.env = env;
  x.caps = caps;
  pid_t pid;
  int r = rt_exec(o, &x, &pid, err);
  if (r < 0 || detach) return r;
  if (wait_init(pid, &status) < 0) return berr_sys(err, errno, "wait for the exec process");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_list(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'}, {"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  bool quiet = false, as_json = false;
  int ch;
  while ((ch = getopt_long(argc, argv, "qf:", opts, NULL)) != -1) {
    if (ch == 'q') quiet = true;
    else if (ch == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0)) as_json = optarg[0] == 'j';
    else return berr(err, EINVAL, "usage: berth-runtime list [-q] [--format table|json]");
  }
  _cleanup_closedir_ DIR *d = opendir(o->root);
  _cleanup_json_ json_t *all = json_array();
  struct dirent *de;
  if (!quiet && !as_json) printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  while (d && (de = readdir(d))) {
    struct rt_state st;
    if (de->d_name[0] == '.' || rt_state_load(o, de->d_name, &st, NULL) < 0) continue;
    enum rt_status s = rt_state_status(o, &st);
    if (quiet) printf("%s\n", st.id);
    else if (as_json) json_array_append_new(all, rt_state_json(&st, s));
    else printf("%-20s %-8d %-10s %-40s %-31s %s\n", st.id, s == RT_STOPPED ? 0 : (int)st.pid, rt_status_name(s), st.bundle, st.created, "root");
    rt_state_clear(&st);
  }
  if (as_json) {
    json_dumpf(all, stdout, JSON_COMPACT);
    putchar('\n');
  }
  return 0;
}

static int cmd_features(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  _cleanup_json_ json_t *f = rt_features();
  json_dumpf(f, stdout, JSON_INDENT(4));
  putchar('\n');
  return 0;
}

static int cmd_spec(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  _cleanup_json_ json_t *spec = oci_spec_default();
  json_dumpf(spec, stdout, JSON_INDENT(2));
  putchar('\n');
  return 0;
}

/* pause / resume: the cgroup freezer (v1) or cgroup.freeze (v2), like runc's */
static int freeze_cmd(const struct rt_opts *o, int argc, char **argv, bool freeze, struct berth_error **err) {
  struct rt_state st;
  int r = need_id(argc, argv, 0, freeze ? "pause ID" : "resume ID", err);
  if (r == 0) r = rt_state_load(o, argv[optind], &st, err);
  if (r < 0) return r;
  enum rt_status s = rt_state_status(o, &st);
  _cleanup_free_ char *dir = rt_statedir(o, st.id);
  _cleanup_free_ char *mark = path_join(dir, RT_PAUSED_MARK);
  if (s != (freeze ? RT_RUNNING : RT_PAUSED))
    r = berr(err, EINVAL, "container \"%s\" is not %s", st.id, freeze ? "running" : "paused");
  else if (!st.cgroup_path) r = berr(err, EINVAL, "container \"%s\" has no cgroup to freeze", st.id);
  else r = rt_cgroup_freeze(st.cgroup_path, freeze, err);
  /* the mark makes state say "paused" without a look at the freezer */
  if (r == 0 && freeze) r = write_file_atomic(mark, "", 0, 0600, 0, err);
  if (r == 0 && !freeze && unlink(mark) < 0) r = berr_sys(err, errno, "remove \"%s\"", mark);
  rt_state_clear(&st);
  return r;
}

static int cmd_pause(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  return freeze_cmd(o, argc, argv, true, err);
}

static int cmd_resume(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  return freeze_cmd(o, argc, argv, false, err);
}

static const struct cmd cmds[] = {
    {"create", cmd_create, "create a container, its init waits for start"},
    {"start", cmd_start, "let a created container's init exec the process"},
    {"state", cmd_state, "print the OCI state of a container as JSON"},
    {"kill", cmd_kill, "send a signal (default TERM) to the init, or with --all to every process"},
    {"delete", cmd_delete, "delete a stopped (or created, or with --force any) container"},
    {"run", cmd_run, "create and start a container, wait for it unless -d"},
    {"exec", cmd_exec, "run a process in a running container, wait for it unless -d"},
    {"pause", cmd_pause, "freeze every process of a running container"},
    {"resume", cmd_resume, "thaw a paused container"},
    {"update", rt_cmd_update, "apply new linux.resources (--resources FILE|- or runc's flags) to a container"},
    {"list", cmd_list, "list containers"},
    {"ps", rt_cmd_ps, "list the processes of a container (--format table|json ID [PS_ARGS...])"},
    {"features", cmd_features, "print the OCI features this runtime implements, as JSON"},
    {"spec", cmd_spec, "print Docker's default config.json"},
};

static void usage(FILE *f) {
  fprintf(f, "Usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND\n\nCommands:\n");
  for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
    if (cmds[i].usage) fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].usage);
}

/* errors to stderr and, for a shim, to --log as "error: MESSAGE" (or runc's JSON lines) */
static void report_error(const struct rt_opts *o, const char *msg) {
  fprintf(stderr, "berth-runtime: %s\n", msg);
  if (!o->log_path) return;
  _cleanup_fclose_ FILE *f = fopen(o->log_path, "ae");
  if (!f) return;
  if (o->log_json) {
    char now[64];
    time_now_rfc3339nano(now, sizeof(now));
    _cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", msg, "time", now);
    json_dumpf(j, f, JSON_COMPACT);
    fputc('\n', f);
  } else {
    fprintf(f, "error: %s\n", msg);
  }
}

static int parse_global(int argc, char **argv, struct rt_opts *o) {
  static const struct option opts[] = {{"root", required_argument, NULL, 'r'}, {"log", required_argument, NULL, 'l'},
                                       {"log-format", required_argument, NULL, 'f'}, {"debug", no_argument, NULL, 'd'},
                                       {"systemd-cgroup", no_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'v'}, {NULL, 0, NULL, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (ch) {
    case 'r': o->root = optarg; break;
    case 'l': o->log_path = optarg; break;
    case 'f': o->log_json = strcmp(optarg, "json") == 0; break;
    case 'd': o->debug = true; break;
    case 's': break; /* cgroup paths with ':' are refused where they are used */
    case 'v': printf("berth-runtime version %s\nspec: %s\n", BERTH_VERSION, OCI_VERSION); return 0;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 1;
    }
  }
  return -1;
}

int main(int argc, char **argv) {
  struct rt_opts o = {.root = RT_DEFAULT_ROOT};
  int r = parse_global(argc, argv, &o);
  if (r >= 0) return r;
  if (o.debug) log_setup(LOG_LVL_DEBUG, o.log_path);
  if (optind >= argc) {
    usage(stderr);
    return 1;
  }
  const char *name = argv[optind];
  for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
    if (strcmp(name, cmds[i].name) != 0) continue;
    argc -= optind;
    argv += optind;
    optind = 1;
    _cleanup_berr_ struct berth_error *err = NULL;
    r = cmds[i].fn(&o, argc, argv, &err);
    if (r < 0) {
      report_error(&o, berr_msg(err));
      return 1;
    }
    fflush(stdout);
    return r;
  }
  fprintf(stderr, "berth-runtime: unknown command \"%s\"\n", name);
  usage(stderr);
  return 1;
}
