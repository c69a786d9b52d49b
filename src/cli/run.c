/* run.c - create, run, start and attach: containers made from flags, attached streams, exit statuses */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cli/cli.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

/* report: docker's reportError for run/create/start: "berth: MSG." and, for usage errors, the help hint */
static int report(struct cli *cli, const char *msg, bool with_help, int status) {
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '.' || msg[n - 1] == '\n')) n--;
  fprintf(stderr, "berth: %.*s.\n", (int)n, msg);
  if (with_help) fprintf(stderr, "See 'berth %s --help'.\n", cli->cmd_name);
  cli->exit_status = status;
  cli->exit_status_set = true;
  return -EIO;
}

/* report_err: report *err and drop it, so main does not print it again */
static int report_err(struct cli *cli, struct berth_error **err, bool with_help, int status) {
  report(cli, berr_msg(*err), with_help, status);
  berr_clear(err);
  return -EIO;
}

/* start_error_status: docker's runStartContainerErr: 127 not found, 126 cannot invoke, else 125 */
static int start_error_status(const char *msg) {
  if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
      strstr(msg, "system cannot find the file specified"))
    return CLI_EXIT_NOT_FOUND;
  if (strstr(msg, "permission denied")) return CLI_EXIT_CANNOT_INVOKE;
  return CLI_EXIT_RUN_ERROR;
}

/* with_latest: docker's TagNameOnly for display: "busybox" -> "busybox:latest" */
static char *with_latest(const char *image) {
  const char *slash = strrchr(image, '/');
  const char *name = slash ? slash + 1 : image;
  if (strchr(image, '@') || strchr(name, ':')) return xstrdup(image);
  return xasprintf("%s:latest", image);
}

int cli_pull(struct cli *cli, const char *image, FILE *out, struct berth_error **err) {
  _cleanup_free_ char *ref = with_latest(image);
  char *sep = strrchr(ref, '@');
  if (!sep) {
    char *slash = strrchr(ref, '/');
    sep = strrchr(slash ? slash : ref, ':');
  }
  *sep = 0;
  _cleanup_free_ char *from = cli_urlenc(ref), *tag = cli_urlenc(sep + 1);
  _cleanup_free_ char *path = xasprintf("/images/create?fromImage=%s&tag=%s", from, tag);
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  int r = cli_conn_open(cli, &c, "POST", path, NULL, NULL, 0, false, err);
  if (r == 0) r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  return cli_print_jsonmessages(&c, out, NULL, err);
}

/* health_config: docker's --health-* and --no-healthcheck into Config.Healthcheck (durations in ns) */
static int health_config(struct cli_opts *o, json_t *body, struct berth_error **err) {
  static const struct {
    const char *flag, *field;
  } durs[] = {{"health-interval", "Interval"}, {"health-timeout", "Timeout"}, {"health-start-period", "StartPeriod"}};
  json_t *hc = json_object();
  json_object_set_new(body, "Healthcheck", hc);
  bool any = opt_str(o, "health-cmd") && *opt_str(o, "health-cmd");
  for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
    const char *v = opt_str(o, durs[i].flag);
    int64_t ns = 0;
    if (v && time_parse_go_duration(v, &ns) < 0)
      return berr(err, EINVAL, "invalid argument \"%s\" for \"--%s\" flag: time: invalid duration \"%s\"", v,
                  durs[i].flag, v);
    if (ns < 0) return berr(err, EINVAL, "--%s cannot be negative", durs[i].flag);
    if (ns) json_object_set_new(hc, durs[i].field, json_integer(ns)), any = true;
  }
  long long retries = 0;
  if (opt_int(o, "health-retries", 0, &retries, err) < 0) return -EINVAL;
  if (retries < 0) return berr(err, EINVAL, "--health-retries cannot be negative");
  if (retries) json_object_set_new(hc, "Retries", json_integer(retries)), any = true;
  if (opt_bool(o, "no-healthcheck")) {
    if (any) return berr(err, EINVAL, "--no-healthcheck conflicts with --health-* options");
    json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
    return 0;
  }
  if (!any) return json_object_del(body, "Healthcheck"), 0;
  const char *cmd = opt_str(o, "health-cmd");
  if (cmd && *cmd) json_object_set_new(hc, "Test", json_pack("[s,s]", "CMD-SHELL", cmd));
  return 0;
}

/* cidfile_check: docker refuses before it creates anything when the file is there */
static int cidfile_check(const char *cidfile, struct berth_error **err) {
  if (cidfile && access(cidfile, F_OK) == 0)
    return berr(err, EEXIST, "Container ID file found, make sure the other container isn't running or delete %s", cidfile);
  return 0;
}

static int post_create(struct cli *cli, const char *name, json_t *body, json_t **res, struct berth_error **err) {
  _cleanup_free_ char *enc = name ? cli_urlenc(name) : NULL;
  _cleanup_free_ char *path = enc ? xasprintf("/containers/create?name=%s", enc) : xstrdup("/containers/create");
  return cli_call(cli, "POST", path, body, res, NULL, err);
}

int cli_container_create(struct cli *cli, struct cli_opts *o, char **id, struct berth_error **err) {
  bool run = strcmp(o->cmd->name, "run") == 0;
  _cleanup_json_ json_t *body = NULL, *res = NULL;
  int r = cli_create_body(o, run, &body, err);
  struct winsize ws;
  json_t *hc = json_object_get(body, "HostConfig");
  /* as docker 23's CLI: the terminal's size at create, so the process starts with it (a resize
   * after the start comes too late for a short command such as `stty size`) */
  if (r == 0 && json_is_object(hc) && json_is_true(json_object_get(body, "Tty")) && isatty(STDOUT_FILENO) &&
      ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    json_object_set_new(hc, "ConsoleSize", json_pack("[i,i]", (int)ws.ws_row, (int)ws.ws_col));
  if (r == 0) r = health_config(o, body, err);
  if (r == 0) r = cidfile_check(opt_str(o, "cidfile"), err);
  if (r < 0) return r;
  const char *pull = opt_str(o, "pull");
  if (pull && strcmp(pull, "always") && strcmp(pull, "missing") && strcmp(pull, "never"))
    return berr(err, EINVAL, "invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", pull);
  const char *image = o->args[0];
  if (pull && strcmp(pull, "always") == 0 && (r = cli_pull(cli, image, stderr, err)) < 0) return r;
  r = post_create(cli, opt_str(o, "name"), body, &res, err);
  if (r == -ENOENT && !(pull && strcmp(pull, "never") == 0) && strstr(berr_msg(*err), "image")) {
    berr_clear(err);
    _cleanup_free_ char *ref = with_latest(image);
    fprintf(stderr, "Unable to find image '%s' locally\n", ref);
    if ((r = cli_pull(cli, image, stderr, err)) < 0) return r;
    r = post_create(cli, opt_str(o, "name"), body, &res, err);
  }
  if (r < 0) return r;
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(res, "Warnings"), i, w) fprintf(stderr, "WARNING: %s\n", json_string_value(w));
  const char *new_id = json_string_value(json_object_get(res, "Id"));
  if (!new_id) return berr(err, EPROTO, "the daemon's create answer has no Id");
  const char *cidfile = opt_str(o, "cidfile");
  if (cidfile) {
    int fd = open(cidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return berr(err, errno, "Container ID file found, make sure the other container isn't running or delete %s", cidfile);
    write_all(fd, new_id, strlen(new_id));
    close(fd);
  }
  *id = xstrdup(new_id);
  return 0;
}

/* wait_send: POST /containers/ID/wait before start (as docker does) so a quick exit is not missed */
static int wait_send(struct cli *cli, struct cli_conn *c, const char *id, bool removed, struct berth_error **err) {
  _cleanup_free_ char *enc = cli_urlenc(id);
  _cleanup_free_ char *path = xasprintf("/containers/%s/wait?condition=%s", enc, removed ? "removed" : "next-exit");
  return cli_conn_open(cli, c, "POST", path, NULL, NULL, 0, false, err);
}

static int wait_read(struct cli_conn *c, int *code, struct berth_error **err) {
  int r = cli_conn_read_head(c, err);
  if (r < 0) return r;
  if (c->status >= 400) return cli_daemon_error(c, err);
  _cleanup_buf_ struct buf b = {0};
  if ((r = cli_conn_slurp(c, &b, err)) < 0) return r;
  _cleanup_json_ json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
  if (!j) return berr(err, EPROTO, "bad wait answer from the daemon");
  const char *msg = json_string_value(json_object_get(json_object_get(j, "Error"), "Message"));
  if (msg && *msg) return berr(err, EIO, "%s", msg);
  *code = (int)json_integer_value(json_object_get(j, "StatusCode"));
  return 0;
}

static int start_container(struct cli *cli, const char *id, struct berth_error **err) {
  _cleanup_free_ char *enc = cli_urlenc(id);
  _cleanup_free_ char *path = xasprintf("/containers/%s/start", enc);
  return cli_call(cli, "POST", path, NULL, NULL, NULL, err);
}

/* attached_run: attach, wait, start, copy the streams, exit with the container's status */
struct attached {
  const char *id;
  bool in, out, err, tty, auto_remove, start;
  bool no_sig_proxy;
  const char *keys_spec;
};

static int attached_run(struct cli *cli, const struct attached *at, struct berth_error **err) {
  _cleanup_conn_ struct cli_conn ac = {.fd = -1}, wc = {.fd = -1};
  struct cli_attach a = {.tty = at->tty, .in = at->in, .out = at->out, .err = at->err, .id = at->id,
                         .no_sig_proxy = at->no_sig_proxy, .keys_spec = at->keys_spec};
  bool attach = at->in || at->out || at->err;
  int r = 0;
  if (attach && (r = cli_attach_open(cli, &ac, &a, err)) < 0) return report_err(cli, err, false, 125);
  if ((r = wait_send(cli, &wc, at->id, at->auto_remove, err)) < 0) return report_err(cli, err, false, 125);
  if (at->start && (r = start_container(cli, at->id, err)) < 0) {
    report_err(cli, err, false, start_error_status(berr_msg(*err)));
    if (at->auto_remove) {
      int ignored;
      struct berth_error *e2 = NULL;
      wait_read(&wc, &ignored, &e2);
      berr_free(e2);
    }
    return -EIO;
  }
  if (at->tty && isatty(STDOUT_FILENO)) cli_resize(cli, at->id, false);
  if (attach && (r = cli_attach_pump(cli, &ac, &a, err)) < 0) return r;
  if (a.detached) return 0;
  int code = 0;
  if ((r = wait_read(&wc, &code, err)) < 0) return report_err(cli, err, false, 125);
  cli->exit_status = code;
  cli->exit_status_set = true;
  return 0;
}

static int cmd_run(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  if (opt_bool(o, "tty") && opt_bool(o, "interactive") && !opt_bool(o, "detach") && !isatty(STDIN_FILENO))
    return report(cli, "the input device is not a TTY", false, 1);
  _cleanup_free_ char *id = NULL;
  int r = cli_container_create(cli, o, &id, err);
  if (r < 0) return report_err(cli, err, true, 125);
  if (opt_bool(o, "detach")) {
    if ((r = start_container(cli, id, err)) < 0) return report_err(cli, err, false, start_error_status(berr_msg(*err)));
    printf("%s\n", id);
    return 0;
  }
  char **al = opt_list(o, "attach");
  bool in = opt_bool(o, "interactive"), out = !al, er = !al;
  for (size_t i = 0; al && al[i]; i++) {
    in |= strcasecmp(al[i], "stdin") == 0;
    out |= strcasecmp(al[i], "stdout") == 0;
    er |= strcasecmp(al[i], "stderr") == 0;
  }
  struct attached at = {id, in, out, er, opt_bool(o, "tty"), opt_bool(o, "rm"), true,
                        opt_set(o, "sig-proxy") && !opt_bool(o, "sig-proxy"), opt_str(o, "detach-keys")};
  return attached_run(cli, &at, err);
}

static int cmd_create(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *id = NULL;
  int r = cli_container_create(cli, o, &id, err);
  if (r < 0) return report_err(cli, err, true, 125);
  printf("%s\n", id);
  return 0;
}

static int inspect_container(struct cli *cli, const char *name, json_t **out, struct berth_error **err) {
  _cleanup_free_ char *enc = cli_urlenc(name);
  _cleanup_free_ char *path = xasprintf("/containers/%s/json", enc);
  int r = cli_call(cli, "GET", path, NULL, out, NULL, err);
  if (r == -ENOENT) {
    berr_clear(err);
    return berr(err, ENOENT, "Error: No such container: %s", name);
  }
  return r;
}

static int cmd_start(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  bool attach = opt_bool(o, "attach"), in = opt_bool(o, "interactive");
  if (attach || in) {
    if (strv_len(o->args) > 1) return berr(err, EINVAL, "you cannot start and attach multiple containers at once");
    _cleanup_json_ json_t *c = NULL;
    int r = inspect_container(cli, o->args[0], &c, err);
    if (r < 0) return r;
    json_t *cfg = json_object_get(c, "Config");
    bool tty = json_is_true(json_object_get(cfg, "Tty"));
    bool open_stdin = json_is_true(json_object_get(cfg, "OpenStdin"));
    bool auto_remove = json_is_true(json_object_get(json_object_get(c, "HostConfig"), "AutoRemove"));
    struct attached at = {json_string_value(json_object_get(c, "Id")), in && open_stdin, true, true, tty, auto_remove, true,
                          false, opt_str(o, "detach-keys")};
    return attached_run(cli, &at, err);
  }
  _cleanup_buf_ struct buf errs = {0}, failed = {0};
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_berr_ struct berth_error *one = NULL;
    if (start_container(cli, o->args[i], &one) < 0) {
      buf_printf(&errs, "%s%s", errs.len ? "\n" : "", berr_msg(one));
      buf_printf(&failed, "%s%s", failed.len ? ", " : "", o->args[i]);
      continue;
    }
    printf("%s\n", o->args[i]);
    fflush(stdout);
  }
  if (errs.len) return berr(err, EIO, "%s\nError: failed to start containers: %s", errs.p, failed.p);
  return 0;
}

static int cmd_attach(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_json_ json_t *c = NULL;
  int r = inspect_container(cli, o->args[0], &c, err);
  if (r < 0) return r;
  json_t *state = json_object_get(c, "State");
  if (!json_is_true(json_object_get(state, "Running")))
    return berr(err, EINVAL, "You cannot attach to a stopped container, start it first");
  if (json_is_true(json_object_get(state, "Paused")))
    return berr(err, EINVAL, "You cannot attach to a paused container, unpause it first");
  json_t *cfg = json_object_get(c, "Config");
  struct cli_attach a = {.tty = json_is_true(json_object_get(cfg, "Tty")),
                         .in = json_is_true(json_object_get(cfg, "OpenStdin")) && !opt_bool(o, "no-stdin"),
                         .out = true, .err = true, .id = json_string_value(json_object_get(c, "Id")),
                         .no_sig_proxy = opt_set(o, "sig-proxy") && !opt_bool(o, "sig-proxy"),
                         .keys_spec = opt_str(o, "detach-keys")};
  _cleanup_conn_ struct cli_conn ac = {.fd = -1};
  if ((r = cli_attach_open(cli, &ac, &a, err)) < 0) return r;
  if (a.tty && isatty(STDOUT_FILENO)) cli_resize(cli, a.id, false);
  if ((r = cli_attach_pump(cli, &ac, &a, err)) < 0) return r;
  if (a.detached) return 0;
  _cleanup_json_ json_t *after = NULL;
  if (inspect_container(cli, a.id, &after, err) == 0) {
    cli->exit_status = (int)json_integer_value(json_object_get(json_object_get(after, "State"), "ExitCode"));
    cli->exit_status_set = true;
  }
  berr_clear(err);
  return 0;
}

#define UNSUPPORTED "(not supported yet)"
static const struct cli_flag create_flags[] = {
    {0, "add-host", FLAG_LIST, "Add a custom host-to-IP mapping (host:ip)", "list"},
    {'a', "attach", FLAG_LIST, "Attach to STDIN, STDOUT or STDERR", "list"},
    {0, "blkio-weight", FLAG_STRING, "Block IO (relative weight), between 10 and 1000, or 0 to disable", "uint16"},
    {0, "blkio-weight-device", FLAG_LIST, "Block IO weight (relative device weight) (default [])", "list"},
    {0, "cap-add", FLAG_LIST, "Add Linux capabilities", "list"},
    {0, "cap-drop", FLAG_LIST, "Drop Linux capabilities", "list"},
    {0, "cgroup-parent", FLAG_STRING, "Optional parent cgroup for the container", "string"},
    {0, "cgroupns", FLAG_STRING, "Cgroup namespace to use (host|private)", "string"},
    {0, "cidfile", FLAG_STRING, "Write the container ID to the file", "string"},
    {0, "cpu-period", FLAG_STRING, "Limit CPU CFS (Completely Fair Scheduler) period", "int"},
    {0, "cpu-quota", FLAG_STRING, "Limit CPU CFS (Completely Fair Scheduler) quota", "int"},
    {0, "cpu-rt-period", FLAG_STRING, "Limit CPU real-time period in microseconds", "int"},
    {0, "cpu-rt-runtime", FLAG_STRING, "Limit CPU real-time runtime in microseconds", "int"},
    {'c', "cpu-shares", FLAG_STRING, "CPU shares (relative weight)", "int"},
    {0, "cpus", FLAG_STRING, "Number of CPUs", "decimal"},
    {0, "cpuset-cpus", FLAG_STRING, "CPUs in which to allow execution (0-3, 0,1)", "string"},
    {0, "cpuset-mems", FLAG_STRING, "MEMs in which to allow execution (0-3, 0,1)", "string"},
    {'d', "detach", FLAG_BOOL, "Run container in background and print container ID", NULL},
    {0, "detach-keys", FLAG_STRING, "Override the key sequence for detaching a container", "string"},
    {0, "device", FLAG_LIST, "Add a host device to the container", "list"},
    {0, "device-read-bps", FLAG_LIST, "Limit read rate (bytes per second) from a device (default [])", "list"},
    {0, "device-read-iops", FLAG_LIST, "Limit read rate (IO per second) from a device (default [])", "list"},
    {0, "device-write-bps", FLAG_LIST, "Limit write rate (bytes per second) to a device (default [])", "list"},
    {0, "device-write-iops", FLAG_LIST, "Limit write rate (IO per second) to a device (default [])", "list"},
    {0, "disable-content-trust", FLAG_BOOL, "Skip image verification (default true)", NULL},
    {0, "dns", FLAG_LIST, "Set custom DNS servers", "list"},
    {0, "dns-option", FLAG_LIST, "Set DNS options", "list"},
    {0, "dns-search", FLAG_LIST, "Set custom DNS search domains", "list"},
    {0, "domainname", FLAG_STRING, "Container NIS domain name", "string"},
    {0, "entrypoint", FLAG_STRING, "Overwrite the default ENTRYPOINT of the image", "string"},
    {'e', "env", FLAG_LIST, "Set environment variables", "list"},
    {0, "env-file", FLAG_LIST, "Read in a file of environment variables", "list"},
    {0, "expose", FLAG_LIST, "Expose a port or a range of ports", "list"},
    {0, "gpus", FLAG_STRING, "GPU devices to add to the container " UNSUPPORTED, "gpu-request"},
    {0, "group-add", FLAG_LIST, "Add additional groups to join", "list"},
    {0, "health-cmd", FLAG_STRING, "Command to run to check health", "string"},
    {0, "health-interval", FLAG_STRING, "Time between running the check (ms|s|m|h) (default 0s)", "duration"},
    {0, "health-retries", FLAG_STRING, "Consecutive failures needed to report unhealthy", "int"},
    {0, "health-start-period", FLAG_STRING, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)", "duration"},
    {0, "health-timeout", FLAG_STRING, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", "duration"},
    {'h', "hostname", FLAG_STRING, "Container host name", "string"},
    {0, "init", FLAG_BOOL, "Run an init inside the container that forwards signals and reaps processes", NULL},
    {'i', "interactive", FLAG_BOOL, "Keep STDIN open even if not attached", NULL},
    {0, "ip", FLAG_STRING, "IPv4 address (e.g., 172.30.100.104)", "string"},
    {0, "ipc", FLAG_STRING, "IPC mode to use", "string"},
    {0, "kernel-memory", FLAG_STRING, "Kernel memory limit", "bytes"},
    {'l', "label", FLAG_LIST, "Set meta data on a container", "list"},
    {0, "label-file", FLAG_LIST, "Read in a line delimited file of labels", "list"},
    {0, "link", FLAG_LIST, "Add link to another container", "list"},
    {0, "log-driver", FLAG_STRING, "Logging driver for the container", "string"},
    {0, "log-opt", FLAG_LIST, "Log driver options", "list"},
    {0, "mac-address", FLAG_STRING, "Container MAC address (e.g., 92:d0:c6:0a:29:33)", "string"},
    {'m', "memory", FLAG_STRING, "Memory limit", "bytes"},
    {0, "memory-reservation", FLAG_STRING, "Memory soft limit", "bytes"},
    {0, "memory-swap", FLAG_STRING, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", "bytes"},
    {0, "memory-swappiness", FLAG_STRING, "Tune container memory swappiness (0 to 100) (default -1)", "int"},
    {0, "mount", FLAG_LIST, "Attach a filesystem mount to the container", "mount"},
    {0, "name", FLAG_STRING, "Assign a name to the container", "string"},
    {0, "net", FLAG_STRING, "Connect a container to a network", "network"},
    {0, "network", FLAG_STRING, "Connect a container to a network", "network"},
    {0, "network-alias", FLAG_LIST, "Add network-scoped alias for the container", "list"},
    {0, "no-healthcheck", FLAG_BOOL, "Disable any container-specified HEALTHCHECK", NULL},
    {0, "oom-kill-disable", FLAG_BOOL, "Disable OOM Killer", NULL},
    {0, "oom-score-adj", FLAG_STRING, "Tune host's OOM preferences (-1000 to 1000)", "int"},
    {0, "pid", FLAG_STRING, "PID namespace to use", "string"},
    {0, "pids-limit", FLAG_STRING, "Tune container pids limit (set -1 for unlimited)", "int"},
    {0, "platform", FLAG_STRING, "Set platform if server is multi-platform capable", "string"},
    {0, "privileged", FLAG_BOOL, "Give extended privileges to this container", NULL},
    {'p', "publish", FLAG_LIST, "Publish a container's port(s) to the host", "list"},
    {'P', "publish-all", FLAG_BOOL, "Publish all exposed ports to random ports", NULL},
    {0, "pull", FLAG_STRING, "Pull image before running (\"always\"|\"missing\"|\"never\") (default \"missing\")", "string"},
    {0, "read-only", FLAG_BOOL, "Mount the container's root filesystem as read only", NULL},
    {0, "restart", FLAG_STRING, "Restart policy to apply when a container exits (default \"no\")", "string"},
    {0, "rm", FLAG_BOOL, "Automatically remove the container when it exits", NULL},
    {0, "runtime", FLAG_STRING, "Runtime to use for this container", "string"},
    {0, "security-opt", FLAG_LIST, "Security Options", "list"},
    {0, "shm-size", FLAG_STRING, "Size of /dev/shm", "bytes"},
    {0, "sig-proxy", FLAG_BOOL, "Proxy received signals to the process (default true)", NULL},
    {0, "stop-signal", FLAG_STRING, "Signal to stop a container (default \"SIGTERM\")", "string"},
    {0, "stop-timeout", FLAG_STRING, "Timeout (in seconds) to stop a container", "int"},
    {0, "sysctl", FLAG_LIST, "Sysctl options", "map"},
    {0, "tmpfs", FLAG_LIST, "Mount a tmpfs directory", "list"},
    {'t', "tty", FLAG_BOOL, "Allocate a pseudo-TTY", NULL},
    {0, "ulimit", FLAG_LIST, "Ulimit options", "ulimit"},
    {'u', "user", FLAG_STRING, "Username or UID (format: <name|uid>[:<group|gid>])", "string"},
    {0, "userns", FLAG_STRING, "User namespace to use", "string"},
    {0, "uts", FLAG_STRING, "UTS namespace to use", "string"},
    {'v', "volume", FLAG_LIST, "Bind mount a volume", "list"},
    {0, "volume-driver", FLAG_STRING, "Optional volume driver for the container " UNSUPPORTED, "string"},
    {0, "volumes-from", FLAG_LIST, "Mount volumes from the specified container(s)", "list"},
    {'w', "workdir", FLAG_STRING, "Working directory inside the container", "string"},
};

static const struct cli_flag start_flags[] = {
    {'a', "attach", FLAG_BOOL, "Attach STDOUT/STDERR and forward signals", NULL},
    {0, "detach-keys", FLAG_STRING, "Override the key sequence for detaching a container", "string"},
    {'i', "interactive", FLAG_BOOL, "Attach container's STDIN", NULL},
};
static const struct cli_flag attach_flags[] = {
    {0, "detach-keys", FLAG_STRING, "Override the key sequence for detaching a container", "string"},
    {0, "no-stdin", FLAG_BOOL, "Do not attach STDIN", NULL},
    {0, "sig-proxy", FLAG_BOOL, "Proxy all received signals to the process (default true)", NULL},
};

/* refuse_unsupported: flags docker has and berth does not implement yet are refused, never ignored */
static int refuse_unsupported(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  for (size_t i = 0; i < o->cmd->nflags; i++) {
    const struct cli_flag *f = &o->cmd->flags[i];
    if (o->vals[i].set && strstr(f->help, UNSUPPORTED))
      return berr(err, ENOTSUP, "the --%s flag is not supported yet", f->long_name);
  }
  const char *platform = opt_str(o, "platform");
  if (platform && strcmp(platform, "linux") != 0 && strncmp(platform, "linux/", 6) != 0)
    return berr(err, ENOTSUP, "platform \"%s\" is not supported: only linux", platform);
  (void)cli;
  return 0;
}

static int cmd_run_checked(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  int r = refuse_unsupported(cli, o, err);
  unsigned char keys[16];
  size_t n;
  if (r == 0 && opt_str(o, "detach-keys"))
    r = cli_parse_detach_keys(opt_str(o, "detach-keys"), keys, sizeof(keys), &n, err);
  if (r < 0) return report_err(cli, err, true, 125);
  return cmd_run(cli, o, err);
}

static int cmd_create_checked(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  int r = refuse_unsupported(cli, o, err);
  if (r < 0) return report_err(cli, err, true, 125);
  return cmd_create(cli, o, err);
}

static int cmd_start_checked(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  int r = refuse_unsupported(cli, o, err);
  return r < 0 ? r : cmd_start(cli, o, err);
}

static int cmd_attach_checked(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  int r = refuse_unsupported(cli, o, err);
  return r < 0 ? r : cmd_attach(cli, o, err);
}

const struct cli_cmd cli_run_cmds[] = {
    {"attach", "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container",
     cmd_attach_checked, CMD_FLAGS(attach_flags), 1, 1, false, 1},
    {"create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", cmd_create_checked,
     CMD_FLAGS(create_flags), 1, -1, true, 125},
    {"run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Run a command in a new container", cmd_run_checked,
     CMD_FLAGS(create_flags), 1, -1, true, 125},
    {"start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", cmd_start_checked,
     CMD_FLAGS(start_flags), 1, -1, false, 1},
};
const size_t cli_run_ncmds = ARRAY_SIZE(cli_run_cmds);
