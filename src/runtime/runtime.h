/* runtime.h - berth-runtime internals shared by its files (not a public module header) */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/error.h"

#define RT_DEFAULT_ROOT "/run/berth-runtime"

/* global options (before the command) */
struct rt_opts {
  const char *root;
  const char *log_path;
  bool log_json;
  bool debug;
};

/* options of create / run */
struct rt_create_opts {
  const char *id;
  const char *bundle;
  const char *pid_file;
  const char *console_socket;
};

/* how the container gets its mount namespace: a new one, one joined by path, or the runtime's own
 * (no mount namespace: mounts are made in the host's namespace and the init chroots, as runc does) */
enum rt_mnt_mode { RT_MNT_NEW, RT_MNT_JOINED, RT_MNT_HOST };

/* what the parent hands the forked init; fields are read-only in the child */
struct rt_container {
  const char *id;
  char *bundle;   /* absolute */
  char *rootfs;   /* absolute */
  char *statedir; /* ROOT/ID */
  json_t *spec;
  int sync_fd;    /* child end of the SOCK_SEQPACKET pair */
  int fifo_fd;    /* O_PATH fd of ROOT/ID/exec.fifo, reopened for writing by the init */
  int console_fd; /* connected --console-socket, or -1 */
  int clone_flags;
  bool userns;
  struct rt_seccomp *seccomp; /* compiled by the parent, loaded by the init */
  const char *cgroup_path;    /* exec: the container's cgroup to join */
  int own_pidns;              /* create joining a pid namespace by path: ours, to return to */
  int own_timens;             /* create making or joining a time namespace: ours, to return to */
  enum rt_mnt_mode mnt_mode;
  pid_t pid;                  /* the init's pid as the runtime sees it (sent with SYNC_GO, for hooks) */
};

/* ---- sync.c: named stages between parent and init ---- */
enum rt_sync_stage {
  SYNC_GO = 1,   /* parent -> init: id maps and cgroups are in place, go on */
  SYNC_READY,    /* init -> parent: set up, now waiting on exec.fifo */
  SYNC_ERROR,    /* init -> parent: {errno, message}, then the init exits */
  SYNC_HOOKS,    /* init -> parent: mounts are made, run the prestart and createRuntime hooks */
  SYNC_HOOKS_DONE, /* parent -> init: they succeeded, go on to createContainer and pivot_root */
};
/* rt_sync_recv: like rt_sync_wait, and the packet's code (the init's pid in SYNC_GO) */
int rt_sync_recv(int fd, enum rt_sync_stage stage, int *code, struct berth_error **err);
int rt_sync_send(int fd, enum rt_sync_stage stage, int code, const char *msg);
/* rt_sync_wait: wait for stage; an SYNC_ERROR packet becomes *err; EOF is "init exited" */
int rt_sync_wait(int fd, enum rt_sync_stage stage, struct berth_error **err);

/* ---- signals.c ---- */
#include "common/signals.h" /* signal_parse */

/* ---- state.c: ROOT/ID/state.json ---- */
enum rt_status { RT_CREATING, RT_CREATED, RT_RUNNING, RT_STOPPED, RT_PAUSED };
/* ROOT/ID/paused exists while pause has frozen the container (state says "paused") */
#define RT_PAUSED_MARK "paused"
struct rt_state {
  char *id;
  pid_t pid;
  uint64_t start_time; /* field 22 of /proc/PID/stat: tells a reused pid apart */
  char *bundle;
  char *rootfs;
  char *created;       /* RFC 3339 nano */
  char *cgroup_path;   /* linux.cgroupsPath or NULL */
  json_t *annotations;
  json_t *hooks;       /* config.json's hooks at create: poststart and poststop run from here */
  bool host_mounts;    /* no mount namespace: the mounts under rootfs are undone by delete */
};
char *rt_statedir(const struct rt_opts *o, const char *id);
int rt_state_save(const struct rt_opts *o, const struct rt_state *st, struct berth_error **err);
int rt_state_load(const struct rt_opts *o, const char *id, struct rt_state *st, struct berth_error **err);
void rt_state_clear(struct rt_state *st);
enum rt_status rt_state_status(const struct rt_opts *o, const struct rt_state *st);
const char *rt_status_name(enum rt_status s);
json_t *rt_state_json(const struct rt_state *st, enum rt_status s);
/* rt_proc_start_time: start time of pid, 0 if it is gone or a zombie */
uint64_t rt_proc_start_time(pid_t pid);
int rt_valid_id(const char *id, struct berth_error **err);

/* ---- hooks.c ---- */
bool rt_hooks_any(json_t *hooks, const char *kind);
/* rt_hook_state: the state JSON a hook reads on stdin */
json_t *rt_hook_state(const char *id, pid_t pid, const char *status, const char *bundle, json_t *annotations);
/* rt_hooks_run: run hooks[kind] in order; the first failure is the error, or with warn each
 * failure is logged as a warning and the rest still run (poststart, poststop) */
int rt_hooks_run(json_t *hooks, const char *kind, json_t *state, bool warn, struct berth_error **err);

/* ---- create.c (parent side) ---- */
int rt_create(const struct rt_opts *o, const struct rt_create_opts *c, pid_t *pid, struct berth_error **err);
/* rt_start: open the fifo so the init execs; fails unless the container is created */
int rt_start(const struct rt_opts *o, const char *id, struct berth_error **err);
/* rt_destroy: kill what is left (with force), remove cgroup and state dir */
int rt_destroy(const struct rt_opts *o, struct rt_state *st, bool force, struct berth_error **err);
int rt_kill(const struct rt_opts *o, const struct rt_state *st, int sig, bool all, struct berth_error **err);

/* ---- exec.c ---- */
struct rt_exec_opts {
  const char *id;
  const char *process_file; /* --process: a process.json replacing the defaults */
  const char *pid_file;
  const char *console_socket;
  const char *cwd;
  const char *user;         /* UID[:GID] */
  char **env;               /* KEY=VALUE added to the container's env */
  char **args;              /* the command */
  char **caps;              /* --cap: added to the bounding, effective and permitted sets */
  bool tty;
};
/* rt_exec: start a process in the running container; it is our child (wait for it or leave it) */
int rt_exec(const struct rt_opts *o, const struct rt_exec_opts *x, pid_t *pid, struct berth_error **err);
int rt_connect_console(const char *path, struct berth_error **err);

/* ---- init.c (child side) ---- */
__attribute__((noreturn)) void rt_init_main(struct rt_container *c);

/* ---- lsm.c ---- */
/* rt_lsm_check: an AppArmor profile or SELinux label the host cannot apply is an error (as runc) */
int rt_lsm_check(json_t *spec, struct berth_error **err);
bool rt_apparmor_enabled(void);
bool rt_selinux_enabled(void);
/* rt_lsm_apply: set the profile / label the next execve takes on */
int rt_lsm_apply(json_t *process, struct berth_error **err);
/* rt_lsm_mount_data: data plus context="linux.mountLabel" where SELinux runs (heap) */
char *rt_lsm_mount_data(json_t *spec, const char *type, const char *data);

/* ---- mounts.c ---- */
/* rt_rootfs_prepare: propagation, the rootfs bind, mounts and devices (before the prestart hooks);
 * rt_rootfs_finish: pivot_root (chroot without a mount namespace), sysctls, masks, read-only */
int rt_rootfs_prepare(struct rt_container *c, struct berth_error **err);
int rt_rootfs_finish(struct rt_container *c, struct berth_error **err);
/* rt_umount_under: detach every mount at or below dir (a container made without a mount namespace) */
int rt_umount_under(const char *dir, struct berth_error **err);
/* rt_open_in_root: open path inside rootfd without leaving it; with mkdirs, create missing
 * directories (and the last component as a file when as_file) */
int rt_open_in_root(int rootfd, const char *path, bool create, bool as_file, struct berth_error **err);
/* rt_mount_flags: split OCI mount options into flags, propagation and the data string */
struct rt_mount_opts {
  unsigned long flags;
  unsigned long clear;
  unsigned long propagation;
  char *data;
};
void rt_parse_mount_options(json_t *options, struct rt_mount_opts *mo);
/* rt_mount_option_names: every option rt_parse_mount_options knows (for `features`) */
json_t *rt_mount_option_names(void);

/* ---- process.c ---- */
int rt_setup_process_early(struct rt_container *c, struct berth_error **err); /* rlimits, oom, hostname */
int rt_setup_console(struct rt_container *c, struct berth_error **err);
int rt_prepare_exec(struct rt_container *c, char **path, char ***envp, struct berth_error **err);
int rt_setup_identity(struct rt_container *c, struct berth_error **err); /* user, groups, caps */
/* rt_find_executable: look name up in PATH (from env) like execvp; heap path */
int rt_find_executable(const char *name, const char *path_env, char **out, struct berth_error **err);

/* ---- seccomp.c ---- */
struct rt_seccomp;
/* rt_seccomp_prepare: compile linux.seccomp to BPF (or take it from the cache in cache_dir) */
int rt_seccomp_prepare(json_t *seccomp, const char *cache_dir, struct rt_seccomp **out, struct berth_error **err);
int rt_seccomp_load(struct rt_seccomp *s, struct berth_error **err);
void rt_seccomp_free(struct rt_seccomp *s);
/* rt_seccomp_features: the "seccomp" object of `features` */
json_t *rt_seccomp_features(void);

/* ---- ps.c ---- */
/* rt_cmd_ps: `ps [--format table|json] ID [PS_ARGS...]`: the host's ps rows of the container's pids */
int rt_cmd_ps(const struct rt_opts *o, int argc, char **argv, struct berth_error **err);

/* ---- features.c ---- */
/* rt_features: the OCI runtime features document (runtime-spec features.md) */
json_t *rt_features(void);

/* ---- cgroup.c ---- */
/* rt_cgroup_create: make the container's cgroups and set their limits (the init joins itself) */
int rt_cgroup_create(const char *path, json_t *linux_spec, struct berth_error **err);
int rt_cgroup_destroy(const char *path, struct berth_error **err);
/* rt_cgroup_join_self: move the calling single-threaded process into the container's cgroups */
int rt_cgroup_join_self(const char *path, struct berth_error **err);
/* rt_cgroup_pids: pids in the container's cgroup (pids or memory hierarchy); heap array */
int rt_cgroup_pids(const char *path, pid_t **pids, size_t *n);
/* rt_cgroup_freeze: freeze (pause) or thaw (resume) every process of the container's cgroup */
int rt_cgroup_freeze(const char *path, bool freeze, struct berth_error **err);
/* rt_mount_cgroupfs: the "cgroup" mount type: the container's own cgroups, read-only */
int rt_mount_cgroupfs(int rootfd, const char *dest, unsigned long flags, struct berth_error **err);
