/* exec.c - exec, port, and the one-call container commands: rename, pause, unpause, top, diff, export, commit */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cli/cli.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *strv_json(char **v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static int exec_body(struct cli_opts *o, json_t **out, struct berth_error **err) {
  bool detach = opt_bool(o, "detach"), in = opt_bool(o, "interactive");
  _cleanup_strv_ char **env = NULL;
  char **l = opt_list(o, "env-file");
  for (size_t i = 0; l && l[i]; i++) {
    int r = cli_env_file(l[i], &env, err);
    if (r < 0) return r;
  }
  l = opt_list(o, "env");
  for (size_t i = 0; l && l[i]; i++) env = strv_push_take(env, cli_parse_env(l[i]));
  json_t *b = json_pack("{s:b,s:b,s:b,s:b,s:o,s:b}", "AttachStdin", in && !detach, "AttachStdout", !detach,
                        "AttachStderr", !detach, "Tty", opt_bool(o, "tty"), "Cmd", strv_json(o->args + 1),
                        "Privileged", opt_bool(o, "privileged"));
  if (env) json_object_set_new(b, "Env", strv_json(env));
  if (opt_str(o, "user")) json_object_set_new(b, "User", json_string(opt_str(o, "user")));
  if (opt_str(o, "workdir")) json_object_set_new(b, "WorkingDir", json_string(opt_str(o, "workdir")));
  *out = b;
  return 0;
}

static int cmd_exec(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  bool tty = opt_bool(o, "tty"), in = opt_bool(o, "interactive"), detach = opt_bool(o, "detach");
  if (tty && in && !detach && !isatty(STDIN_FILENO)) return berr(err, EINVAL, "the input device is not a TTY");
  _cleanup_json_ json_t *body = NULL, *res = NULL;
  int r = exec_body(o, &body, err);
  if (r < 0) return r;
  _cleanup_free_ char *cid = cli_urlenc(o->args[0]);
  _cleanup_free_ char *cpath = xasprintf("/containers/%s/exec", cid);
  if ((r = cli_call(cli, "POST", cpath, body, &res, NULL, err)) < 0) return r;
  const char *id = jstr(res, "Id");
  _cleanup_free_ char *spath = xasprintf("/exec/%s/start", id);
  _cleanup_json_ json_t *start = json_pack("{s:b,s:b}", "Detach", detach, "Tty", tty);
  struct winsize ws;
  /* API 1.42's ConsoleSize: the terminal has its size before the process runs (a resize after the
   * start comes too late for a short command such as `stty size`) */
  if (tty && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    json_object_set_new(start, "ConsoleSize", json_pack("[i,i]", (int)ws.ws_row, (int)ws.ws_col));
  if (detach) return cli_call(cli, "POST", spath, start, NULL, NULL, err);
  _cleanup_free_ char *text = json_dumps(start, JSON_COMPACT);
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  if ((r = cli_conn_open(cli, &c, "POST", spath, "application/json", text, strlen(text), true, err)) < 0) return r;
  if ((r = cli_conn_read_head(&c, err)) < 0) return r;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  struct cli_attach a = {.tty = tty, .in = in, .out = true, .err = true, .id = id, .exec = true,
                         .keys_spec = opt_str(o, "detach-keys")};
  if (tty && isatty(STDOUT_FILENO)) cli_resize(cli, id, true);
  if ((r = cli_attach_pump(cli, &c, &a, err)) < 0) return r;
  if (a.detached) return 0;
  _cleanup_free_ char *ipath = xasprintf("/exec/%s/json", id);
  _cleanup_json_ json_t *info = NULL;
  if ((r = cli_call(cli, "GET", ipath, NULL, &info, NULL, err)) < 0) return r;
  cli->exit_status = (int)json_integer_value(json_object_get(info, "ExitCode"));
  cli->exit_status_set = true;
  return 0;
}

/* ------------------------------------------------------------------ port */

static void print_bindings(const char *key, json_t *binds, bool with_key) {
  size_t i;
  json_t *b;
  json_array_foreach(binds, i, b) {
    const char *ip = jstr(b, "HostIp");
    bool v6 = strchr(ip, ':') != NULL;
    if (with_key) printf("%s -> ", key);
    printf("%s%s%s:%s\n", v6 ? "[" : "", *ip ? ip : "0.0.0.0", v6 ? "]" : "", jstr(b, "HostPort"));
  }
}

static int cmd_port(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *cid = cli_urlenc(o->args[0]);
  _cleanup_free_ char *path = xasprintf("/containers/%s/json", cid);
  _cleanup_json_ json_t *c = NULL;
  int r = cli_call(cli, "GET", path, NULL, &c, NULL, err);
  if (r == -ENOENT) {
    berr_clear(err);
    return berr(err, ENOENT, "Error: No such container: %s", o->args[0]);
  }
  if (r < 0) return r;
  json_t *ports = json_object_get(json_object_get(c, "NetworkSettings"), "Ports");
  if (o->args[1]) {
    _cleanup_free_ char *key = strchr(o->args[1], '/') ? xstrdup(o->args[1]) : xasprintf("%s/tcp", o->args[1]);
    json_t *binds = json_object_get(ports, key);
    if (!json_array_size(binds))
      return berr(err, ENOENT, "Error: No public port '%s' published for %s", key, o->args[0]);
    print_bindings(key, binds, false);
    return 0;
  }
  const char *k;
  json_t *v;
  json_object_foreach(ports, k, v) print_bindings(k, v, true);
  return 0;
}

/* ------------------------------------------------------------------ one-call commands */

static int each(struct cli *cli, struct cli_opts *o, const char *suffix, struct berth_error **err) {
  _cleanup_buf_ struct buf errs = {0};
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_free_ char *id = cli_urlenc(o->args[i]);
    _cleanup_free_ char *path = xasprintf("/containers/%s/%s", id, suffix);
    _cleanup_berr_ struct berth_error *one = NULL;
    if (cli_call(cli, "POST", path, NULL, NULL, NULL, &one) < 0) {
      buf_printf(&errs, "%s%s", errs.len ? "\n" : "", berr_msg(one));
      continue;
    }
    printf("%s\n", o->args[i]);
  }
  return errs.len ? berr(err, EIO, "%s", errs.p) : 0;
}

static int cmd_pause(struct cli *cli, struct cli_opts *o, struct berth_error **err) { return each(cli, o, "pause", err); }
static int cmd_unpause(struct cli *cli, struct cli_opts *o, struct berth_error **err) { return each(cli, o, "unpause", err); }

static int cmd_rename(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *id = cli_urlenc(o->args[0]), *name = cli_urlenc(o->args[1]);
  _cleanup_free_ char *path = xasprintf("/containers/%s/rename?name=%s", id, name);
  return cli_call(cli, "POST", path, NULL, NULL, NULL, err);
}

static int cmd_diff(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *id = cli_urlenc(o->args[0]);
  _cleanup_free_ char *path = xasprintf("/containers/%s/changes", id);
  _cleanup_json_ json_t *list = NULL;
  int r = cli_call(cli, "GET", path, NULL, &list, NULL, err);
  if (r < 0) return r;
  static const char kinds[] = "CAD";
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) {
    long long k = json_integer_value(json_object_get(c, "Kind"));
    printf("%c %s\n", k >= 0 && k < 3 ? kinds[k] : '?', jstr(c, "Path"));
  }
  return 0;
}

static int cmd_top(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *id = cli_urlenc(o->args[0]);
  _cleanup_buf_ struct buf path = {0};
  buf_printf(&path, "/containers/%s/top", id);
  if (o->args[1]) {
    _cleanup_buf_ struct buf args = {0};
    for (size_t i = 1; o->args[i]; i++) buf_printf(&args, "%s%s", i > 1 ? " " : "", o->args[i]);
    _cleanup_free_ char *enc = cli_urlenc(args.p);
    buf_printf(&path, "?ps_args=%s", enc);
  }
  _cleanup_json_ json_t *res = NULL;
  int r = cli_call(cli, "GET", path.p, NULL, &res, NULL, err);
  if (r < 0) return r;
  _cleanup_buf_ struct buf text = {0};
  size_t i, j;
  json_t *t, *row;
  json_array_foreach(json_object_get(res, "Titles"), i, t) buf_printf(&text, "%s%s", i ? "\t" : "", json_string_value(t));
  buf_putc(&text, '\n');
  json_array_foreach(json_object_get(res, "Processes"), i, row) {
    json_array_foreach(row, j, t) buf_printf(&text, "%s%s", j ? "\t" : "", json_string_value(t));
    buf_putc(&text, '\n');
  }
  _cleanup_free_ char *aligned = fmt_tabwrite(text.p, 20, 1);
  fputs(aligned, stdout);
  return 0;
}

/* download: GET path into -o FILE or stdout (refusing a terminal, like docker) */
static int download(struct cli *cli, const char *path, const char *output, struct berth_error **err) {
  _cleanup_close_ int fd = -1;
  if (output) {
    fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return berr(err, errno, "failed to save to %s: %s", output, strerror(errno));
  } else if (isatty(STDOUT_FILENO)) {
    return berr(err, EINVAL, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  int r = cli_conn_open(cli, &c, "GET", path, NULL, NULL, 0, false, err);
  if (r == 0) r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  char tmp[65536];
  for (;;) {
    ssize_t n = cli_conn_read_body(&c, tmp, sizeof(tmp), err);
    if (n <= 0) return (int)n;
    if ((r = write_all(fd >= 0 ? fd : STDOUT_FILENO, tmp, (size_t)n)) < 0) return berr_sys(err, -r, "write");
  }
}

static int cmd_export(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *id = cli_urlenc(o->args[0]);
  _cleanup_free_ char *path = xasprintf("/containers/%s/export", id);
  return download(cli, path, opt_str(o, "output"), err);
}

static int cmd_save(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_buf_ struct buf path = {0};
  buf_puts(&path, "/images/get?");
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_free_ char *n = cli_urlenc(o->args[i]);
    buf_printf(&path, "%snames=%s", i ? "&" : "", n);
  }
  return download(cli, path.p, opt_str(o, "output"), err);
}

static int cmd_load(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  const char *input = opt_str(o, "input");
  _cleanup_close_ int fd = -1;
  if (input) {
    fd = open(input, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return berr(err, errno, "open %s: %s", input, strerror(errno));
  } else if (isatty(STDIN_FILENO)) {
    return berr(err, EINVAL, "requested load from stdin, but stdin is empty");
  }
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  const char *path = opt_bool(o, "quiet") ? "/images/load?quiet=1" : "/images/load?quiet=0";
  int r = cli_conn_upload_fd(cli, &c, "POST", path, "application/x-tar", fd >= 0 ? fd : STDIN_FILENO, err);
  if (r == 0) r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  if (c.content_type && strstr(c.content_type, "json")) return cli_print_jsonmessages(&c, stdout, NULL, err);
  return cli_stream_copy(&c, true, err);
}

static int cmd_commit(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_buf_ struct buf path = {0};
  _cleanup_free_ char *id = cli_urlenc(o->args[0]);
  buf_printf(&path, "/commit?container=%s&pause=%d", id, opt_set(o, "pause") ? opt_bool(o, "pause") : 1);
  if (o->args[1]) {
    _cleanup_free_ char *ref = xstrdup(o->args[1]);
    char *slash = strrchr(ref, '/'), *colon = strrchr(slash ? slash : ref, ':');
    if (colon) *colon++ = 0;
    _cleanup_free_ char *re = cli_urlenc(ref), *te = cli_urlenc(colon ? colon : "");
    buf_printf(&path, "&repo=%s&tag=%s", re, te);
  }
  static const char *const q[][2] = {{"message", "comment"}, {"author", "author"}};
  for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
    if (!opt_str(o, q[i][0])) continue;
    _cleanup_free_ char *v = cli_urlenc(opt_str(o, q[i][0]));
    buf_printf(&path, "&%s=%s", q[i][1], v);
  }
  char **ch = opt_list(o, "change");
  for (size_t i = 0; ch && ch[i]; i++) {
    _cleanup_free_ char *v = cli_urlenc(ch[i]);
    buf_printf(&path, "&changes=%s", v);
  }
  _cleanup_json_ json_t *res = NULL;
  int r = cli_call(cli, "POST", path.p, NULL, &res, NULL, err);
  if (r < 0) return r;
  printf("%s\n", jstr(res, "Id"));
  return 0;
}

static const struct cli_flag exec_flags[] = {
    {'d', "detach", FLAG_BOOL, "Detached mode: run command in the background", NULL},
    {0, "detach-keys", FLAG_STRING, "Override the key sequence for detaching a container", "string"},
    {'e', "env", FLAG_LIST, "Set environment variables", "list"},
    {0, "env-file", FLAG_LIST, "Read in a file of environment variables", "list"},
    {'i', "interactive", FLAG_BOOL, "Keep STDIN open even if not attached", NULL},
    {0, "privileged", FLAG_BOOL, "Give extended privileges to the command", NULL},
    {'t', "tty", FLAG_BOOL, "Allocate a pseudo-TTY", NULL},
    {'u', "user", FLAG_STRING, "Username or UID (format: <name|uid>[:<group|gid>])", "string"},
    {'w', "workdir", FLAG_STRING, "Working directory inside the container", "string"},
};
static const struct cli_flag output_flags[] = {
    {'o', "output", FLAG_STRING, "Write to a file, instead of STDOUT", "string"},
};
static const struct cli_flag load_flags[] = {
    {'i', "input", FLAG_STRING, "Read from tar archive file, instead of STDIN", "string"},
    {'q', "quiet", FLAG_BOOL, "Suppress the load output", NULL},
};
static const struct cli_flag commit_flags[] = {
    {'a', "author", FLAG_STRING, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")", "string"},
    {'c', "change", FLAG_LIST, "Apply Dockerfile instruction to the created image", "list"},
    {'m', "message", FLAG_STRING, "Commit message", "string"},
    {'p', "pause", FLAG_BOOL, "Pause container during commit (default true)", NULL},
};

const struct cli_cmd cli_exec_cmds[] = {
    {"commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", cmd_commit,
     CMD_FLAGS(commit_flags), 1, 2, false, 1},
    {"diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem", cmd_diff, NULL, 0, 1, 1, false, 1},
    {"exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Run a command in a running container", cmd_exec,
     CMD_FLAGS(exec_flags), 2, -1, true, 1},
    {"export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", cmd_export,
     CMD_FLAGS(output_flags), 1, 1, false, 1},
    {"load", "[OPTIONS]", "Load an image from a tar archive or STDIN", cmd_load, CMD_FLAGS(load_flags), 0, 0, false, 1},
    {"pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", cmd_pause, NULL, 0, 1, -1, false, 1},
    {"port", "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", cmd_port,
     NULL, 0, 1, 2, false, 1},
    {"rename", "CONTAINER NEW_NAME", "Rename a container", cmd_rename, NULL, 0, 2, 2, false, 1},
    {"save", "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)",
     cmd_save, CMD_FLAGS(output_flags), 1, -1, false, 1},
    {"top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container", cmd_top, NULL, 0, 1, -1, true, 1},
    {"unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", cmd_unpause, NULL, 0,
     1, -1, false, 1},
};
const size_t cli_exec_ncmds = ARRAY_SIZE(cli_exec_cmds);
