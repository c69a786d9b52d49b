/* cli.h - internals of the berth CLI shared by its command files: flags, HTTP, output helpers */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "cli/format/format.h"
#include "common/buf.h"
#include "common/xalloc.h"
#include "common/error.h"

/* exit statuses docker uses */
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_RUN_ERROR 125
#define CLI_EXIT_CANNOT_INVOKE 126
#define CLI_EXIT_NOT_FOUND 127


/* ------------------------------------------------------------------ flags */

enum cli_flag_kind { FLAG_BOOL, FLAG_STRING, FLAG_LIST };

struct cli_flag {
  char short_name;       /* 0 when there is none */
  const char *long_name; /* without "--" */
  enum cli_flag_kind kind;
  const char *help;
  const char *type; /* shown in --help: "string", "list", "int" ... */
};

struct cli_flag_val {
  bool set;
  char *str;   /* last value (FLAG_STRING, and FLAG_BOOL as "true"/"false") */
  char **list; /* every value (FLAG_LIST) */
};

struct cli_cmd;
struct cli;

/* cli_opts: the parsed flags of one command, parallel to its flag table */
struct cli_opts {
  const struct cli_cmd *cmd;
  struct cli_flag_val *vals;
  size_t nvals;
  char **args; /* positionals (strv) */
  bool help;
};

void cli_opts_free(struct cli_opts *o);
/* cli_parse_flags: parse argv (after the command name). stop_at_positional: everything after the
 * first positional is positional (run/create/exec). Errors are docker's wordings. */
int cli_parse_flags(const struct cli_cmd *cmd, char **argv, int argc, struct cli_opts *o, struct berth_error **err);
bool opt_bool(const struct cli_opts *o, const char *name);
const char *opt_str(const struct cli_opts *o, const char *name);
char **opt_list(const struct cli_opts *o, const char *name);
bool opt_set(const struct cli_opts *o, const char *name);
/* opt_int: value of an integer flag, def when unset; -EINVAL on a bad number */
int opt_int(const struct cli_opts *o, const char *name, long long def, long long *out, struct berth_error **err);

/* ------------------------------------------------------------------ commands */

typedef int (*cli_cmd_fn)(struct cli *cli, struct cli_opts *o, struct berth_error **err);

struct cli_cmd {
  const char *name;
  const char *usage; /* after "berth NAME " */
  const char *desc;
  cli_cmd_fn fn;
  const struct cli_flag *flags;
  size_t nflags;
  int min_args, max_args; /* max_args < 0: no limit */
  bool stop_at_positional;
  int error_exit; /* exit status for errors: 1, or 125 for run/create */
};

#define CMD_FLAGS(t) t, ARRAY_SIZE(t)

/* the global state of one invocation */
struct cli {
  char *host;        /* unix:///path */
  char *sock_path;   /* /path */
  const char *cmd_name;
  int exit_status;   /* set by commands that exit with something other than 0/1 (run, wait) */
  bool exit_status_set;
};

/* command groups (one file each) */
extern const struct cli_cmd cli_system_cmds[];
extern const size_t cli_system_ncmds;
extern const struct cli_cmd cli_image_cmds[];
extern const size_t cli_image_ncmds;
extern const struct cli_cmd cli_container_cmds[];
extern const size_t cli_container_ncmds;
extern const struct cli_cmd cli_run_cmds[];
extern const size_t cli_run_ncmds;
extern const struct cli_cmd cli_exec_cmds[];
extern const size_t cli_exec_ncmds;
extern const struct cli_cmd cli_stats_cmds[];
extern const size_t cli_stats_ncmds;
extern const struct cli_cmd cli_build_cmds[];
extern const size_t cli_build_ncmds;
extern const struct cli_cmd cli_netvol_cmds[];
extern const size_t cli_netvol_ncmds;
extern const struct cli_cmd cli_inspect_cmds[];
extern const size_t cli_inspect_ncmds;
extern const struct cli_cmd cli_prune_cmds[];
extern const size_t cli_prune_ncmds;
extern const struct cli_cmd cli_events_cmds[];
extern const size_t cli_events_ncmds;

void cli_print_usage(const struct cli_cmd *cmd, FILE *f);

/* ------------------------------------------------------------------ HTTP over the unix socket */

struct cli_conn {
  int fd;
  int status;
  bool chunked;
  long long clen; /* -1: until EOF */
  bool upgraded;
  char *rbuf;     /* bytes read but not consumed yet */
  size_t rlen, rpos;
  size_t rcap;
  char *content_type;
  /* chunked decoding state */
  long long chunk_left;
  bool body_done;
};

void cli_conn_close(struct cli_conn *c);
static inline void cleanup_connp(struct cli_conn *c) { cli_conn_close(c); }
#define _cleanup_conn_ __attribute__((cleanup(cleanup_connp)))

/* cli_set_host: accept unix:///path or unix://path; tcp:// is refused */
int cli_set_host(struct cli *cli, const char *host, struct berth_error **err);
/* cli_conn_open: connect and send a request; body may be NULL. upgrade adds Connection: Upgrade/Upgrade: tcp.
 * path is relative to /v1.41 */
int cli_conn_open(struct cli *cli, struct cli_conn *c, const char *method, const char *path, const char *ctype,
                  const void *body, size_t len, bool upgrade, struct berth_error **err);
/* cli_conn_upload_fd: like cli_conn_open, streaming fd as the body (Content-Length when it is a file,
 * chunked otherwise) */
int cli_conn_upload_fd(struct cli *cli, struct cli_conn *c, const char *method, const char *path, const char *ctype,
                       int fd, struct berth_error **err);
/* cli_conn_read_head: read status line and headers */
int cli_conn_read_head(struct cli_conn *c, struct berth_error **err);
/* cli_conn_read_body: read the (de-chunked) body piece by piece; returns bytes (>0), 0 at end, <0 error */
ssize_t cli_conn_read_body(struct cli_conn *c, char *out, size_t size, struct berth_error **err);
/* cli_conn_slurp: the whole rest of the body */
int cli_conn_slurp(struct cli_conn *c, struct buf *b, struct berth_error **err);
/* cli_daemon_error: turn an error response (status >= 400) into "Error response from daemon: MSG" */
int cli_daemon_error(struct cli_conn *c, struct berth_error **err);

/* cli_call: one request with a JSON body (or NULL), JSON answer in *out (may be NULL; out may be NULL).
 * Returns 0, or -ENOENT (404), -EEXIST (409), -EINVAL (400), -EIO ... with the daemon's message. */
int cli_call(struct cli *cli, const char *method, const char *path, json_t *body, json_t **out, int *status,
             struct berth_error **err);
/* cli_urlenc: percent-encode a path segment or query value, keeping "/:@" (heap) */
char *cli_urlenc(const char *s);

/* jsonmessage streams (pull, import, load): prints status lines, fails on an "error" message */
int cli_print_jsonmessages(struct cli_conn *c, FILE *out, char **last_status, struct berth_error **err);

/* cli_pull: POST /images/create?fromImage=, progress lines to out */
int cli_pull(struct cli *cli, const char *image, FILE *out, struct berth_error **err);

/* ------------------------------------------------------------------ attach / streams */

struct cli_attach {
  bool tty;
  bool in, out, err; /* which streams */
  const char *id;
  bool detach_keys;  /* the detach sequence is watched for (stdin attached to a tty) */
  const char *keys_spec; /* --detach-keys, NULL for docker's default "ctrl-p,ctrl-q" */
  bool detached;     /* out: the user detached */
  bool exec;         /* id is an exec instance: resize it, forward no signals */
  bool no_sig_proxy; /* --sig-proxy=false */
};
/* cli_attach_open: POST /containers/ID/attach with upgrade */
int cli_attach_open(struct cli *cli, struct cli_conn *c, const struct cli_attach *a, struct berth_error **err);
/* cli_attach_pump: copy between the terminal and the connection until the output ends */
int cli_attach_pump(struct cli *cli, struct cli_conn *c, struct cli_attach *a, struct berth_error **err);
/* cli_parse_detach_keys: docker's --detach-keys syntax ("ctrl-p,ctrl-q", "a,ctrl-@") into bytes */
int cli_parse_detach_keys(const char *spec, unsigned char *keys, size_t max, size_t *n, struct berth_error **err);
/* cli_stream_demux: write a multiplexed or raw stream's body to stdout/stderr */
int cli_stream_copy(struct cli_conn *c, bool raw, struct berth_error **err);
/* cli_resize: send the local terminal size to the container */
void cli_resize(struct cli *cli, const char *id, bool exec);

/* ------------------------------------------------------------------ run/create */
/* cli_container_create: build the create body from run/create flags, POST it (pulling the image when
 * missing, like docker); *id gets the new container's id */
int cli_container_create(struct cli *cli, struct cli_opts *o, char **id, struct berth_error **err);
/* cli_create_body: the POST /containers/create body from run (run=true) or create flags */
int cli_create_body(struct cli_opts *o, bool run, json_t **out, struct berth_error **err);
/* cli_parse_env_line / cli_env_from_file: docker's -e and --env-file rules */
char *cli_parse_env(const char *kv);
int cli_env_file(const char *path, char ***env, struct berth_error **err);
int cli_label_file(const char *path, char ***labels, struct berth_error **err);
/* cli_parse_labels: "k=v" / "k" into an object */
json_t *cli_labels_object(char **labels);

/* ------------------------------------------------------------------ small helpers */
/* cli_short_id: strip "sha256:" and cut to 12 characters (static buffer owned by the caller) */
void cli_short_id(const char *id, char out[13]);
/* cli_go_quote: Go's strconv.Quote */
char *cli_go_quote(const char *s);
/* cli_ellipsis: docker's formatter.Ellipsis (max runes, "…" at the end) */
char *cli_ellipsis(const char *s, size_t max);
