/* exec_int.h - exec instances shared by exec.c (records, create, inspect, resize) and
 * exec_start.c (the exec shim, the hijacked stream); private to the daemon */
#pragma once
#include "daemon/daemon.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One exec instance, as Docker keeps it: in memory only, forgotten some minutes after it ended */
struct exec_inst {
  struct exec_inst *next;
  int refs;            /* guarded by the table lock, like every field below */
  char id[65];
  char ctr_id[65];
  json_t *cfg;         /* the create request: Cmd, Env, User, WorkingDir, Tty, Attach*, Privileged... */
  bool started;        /* start was asked: a second start is refused */
  bool running;
  bool has_exit;       /* ExitCode is known */
  int exit_code;
  pid_t pid;           /* the process (host pid) while running */
  int64_t ended_ns;    /* monotonic-ish wall time of the end, for forgetting it later */
};

struct exec_table {
  pthread_mutex_t mu;
  pthread_cond_t cond; /* broadcast when an exec ends */
  struct exec_inst *list;
};

/* exec_get: the instance with this full id, referenced (NULL when unknown); exec_put drops it */
struct exec_inst *exec_get(struct exec_table *t, const char *id);
void exec_put(struct exec_table *t, struct exec_inst *e);
/* exec_state_dir: E/shims/CTR/exec-ID (heap) */
char *exec_state_dir(struct daemon *d, const struct exec_inst *e);
/* ctr_control_resize: "resize H W" to the control socket in dir (a shim's state dir); a shim
 * without one (no tty) has nothing to resize: 0 */
int ctr_control_resize(const char *dir, unsigned h, unsigned w, struct berth_error **err);
/* parse_size: ?h= and ?w= of a resize request */
int exec_parse_size(struct req *r, unsigned *h, unsigned *w, struct berth_error **err);
/* exec_event_action: Docker's event action "exec_start: CMD ARGS..." (heap) */
char *exec_event_action(const char *what, const json_t *cfg);
/* exec_env_set: Docker's ReplaceOrAppendEnvValues for one "KEY=VALUE" ("KEY" alone removes KEY) */
void exec_env_set(json_t *env, const char *kv);
/* ctr_top_parse: ps output (text, modified) to {"Titles", "Processes"}, keeping the rows of pids */
int ctr_top_parse(char *text, const pid_t *pids, size_t npids, json_t **out, struct berth_error **err);
/* exec_parse_keys: detach keys ("ctrl-p,ctrl-q" when spec is empty) as bytes; -EINVAL when bad */
int exec_parse_keys(const char *spec, unsigned char *keys, size_t max, size_t *n);
