/* cgroup.h - berth-runtime's cgroup managers (v1, v2, eBPF devices) shared by cgroup*.c and tests */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "runtime/runtime.h"

/* how the host mounts cgroups: pure v2 (/sys/fs/cgroup is cgroup2), hybrid (v1 controllers plus an
 * empty cgroup2 tree at /sys/fs/cgroup/unified) or v1 only */
enum cg_mode { CG_V1, CG_HYBRID, CG_V2 };

struct cg_hier {
  char *mountpoint;
  char *controllers; /* "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
};

/* where the cgroup trees are: the host's, or a fake tree for the unit tests */
struct cg_ctx {
  char *root;            /* "/sys/fs/cgroup" */
  enum cg_mode mode;
  struct cg_hier *hiers; /* v1 hierarchies, ends with a NULL mountpoint (empty for v2) */
  bool fake;             /* a test tree: no /proc/self/cgroup lookups, paths are taken as absolute */
};

/* cg_ctx_host: detect the host's mode and v1 hierarchies */
void cg_ctx_host(struct cg_ctx *ctx);
/* cg_ctx_fake: a tree at root; for v1 every subdirectory of root is a hierarchy named by its
 * controllers ("memory", "cpu,cpuacct") */
void cg_ctx_fake(struct cg_ctx *ctx, const char *root, enum cg_mode mode);
void cg_ctx_clear(struct cg_ctx *ctx);
static inline void cleanup_cg_ctxp(struct cg_ctx *c) { cg_ctx_clear(c); }
#define _cleanup_cg_ctx_ __attribute__((cleanup(cleanup_cg_ctxp)))

/* cg_v1_hier: the hierarchy holding controller ctrl, or NULL */
const struct cg_hier *cg_v1_hier(const struct cg_ctx *ctx, const char *ctrl);
/* cg_dir: the container's directory for cgroupsPath path in hierarchy h (NULL: the v2 tree); a
 * relative path is under the caller's own cgroup, like runc */
char *cg_dir(const struct cg_ctx *ctx, const struct cg_hier *h, const char *path);

/* cg_write: write value to dir/file (in a fake tree: append it as a line, so tests see every write) */
int cg_write(const struct cg_ctx *ctx, const char *dir, const char *file, const char *value, struct berth_error **err);
/* cg_read_int: the number at the start of dir/file; false when unreadable */
bool cg_read_int(const char *dir, const char *file, int64_t *out);
bool cg_file_exists(const char *dir, const char *file);

/* cg_create: make the container's cgroups and write linux_spec's resources; on failure nothing of
 * it is left */
int cg_create(const struct cg_ctx *ctx, const char *path, json_t *linux_spec, struct berth_error **err);
int cg_destroy(const struct cg_ctx *ctx, const char *path, struct berth_error **err);
int cg_pids(const struct cg_ctx *ctx, const char *path, pid_t **pids, size_t *n);
/* cg_v1_move_pids: make dir (a v1 cgroup) and move the container's processes into it */
int cg_v1_move_pids(const struct cg_ctx *ctx, const char *path, const char *dir, struct berth_error **err);

/* ---- cgroup_res.c: checks that do not depend on the version ---- */
/* cg_check_resources: relative values (swap >= limit, swappiness 0..100, shares), 0 or -EINVAL */
int cg_check_resources(json_t *res, struct berth_error **err);
/* cg_check_usage: with memory.checkBeforeUpdate, refuse a limit below dir/usage_file */
int cg_check_usage(const char *dir, const char *usage_file, json_t *mem, struct berth_error **err);
/* cg_shares_to_weight: cpu.shares -> cpu.weight, runc's formula 1 + ((shares-2)*9999)/262142 */
uint64_t cg_shares_to_weight(uint64_t shares);
/* cg_blkio_to_io_weight: blkio.weight (10..1000) -> io.weight (1..10000) */
uint64_t cg_blkio_to_io_weight(uint64_t weight);
/* cg_swap_v2: OCI memory.swap (memory+swap) -> memory.swap.max (swap only); -1 is "max"; 0 unset */
int cg_swap_v2(int64_t swap, int64_t limit, int64_t *out, struct berth_error **err);
/* cg_int: an integer field of obj, false when absent or not an integer */
bool cg_int(json_t *obj, const char *key, int64_t *out);

/* the device rules in effect: linux.resources.devices, then the runtime's defaults, then the nodes
 * of linux.devices; evaluated in order, the last matching rule wins */
struct cg_dev_rule {
  bool allow;
  char type;      /* 'a', 'b', 'c' */
  int64_t major;  /* -1: any */
  int64_t minor;  /* -1: any */
  unsigned access; /* CG_DEV_READ | CG_DEV_WRITE | CG_DEV_MKNOD */
};
enum { CG_DEV_MKNOD = 1, CG_DEV_READ = 2, CG_DEV_WRITE = 4 };
int cg_dev_rules(json_t *linux_spec, struct cg_dev_rule **out, size_t *n, struct berth_error **err);

/* ---- cgroup_v1.c ---- */
/* cg_v1_needed: does res set anything of this v1 controller (so its hierarchy gets a cgroup)? */
bool cg_v1_needed(const char *ctrl, json_t *linux_spec);
/* cg_v1_apply: write the settings of controller ctrl (a name like "memory") in dir */
int cg_v1_apply(const struct cg_ctx *ctx, const char *ctrl, const char *mount, const char *dir, json_t *linux_spec,
                struct berth_error **err);

/* cg_v1_ctrl_name: the i-th controller this runtime manages (NULL past the end) */
const char *cg_v1_ctrl_name(size_t i);
/* cg_rdma_apply: linux.resources.rdma as rdma.max lines (v1 and v2) */
int cg_rdma_apply(const struct cg_ctx *ctx, const char *dir, json_t *rdma, struct berth_error **err);

/* ---- cgroup_v2.c ---- */
/* cg_v2_enable: enable the parent's controllers in cgroup.subtree_control from root down to dir's parent */
int cg_v2_enable(const struct cg_ctx *ctx, const char *dir, struct berth_error **err);
/* cg_v2_apply: write linux.resources in the v2 cgroup dir (devices excepted: see cgroup_bpf.c) */
int cg_v2_apply(const struct cg_ctx *ctx, const char *dir, json_t *res, struct berth_error **err);

/* ---- cgroup_bpf.c: v2 device control ---- */
struct bpf_insn;
/* cg_bpf_device_prog: the BPF_PROG_TYPE_CGROUP_DEVICE program for rules; heap array */
int cg_bpf_device_prog(const struct cg_dev_rule *rules, size_t n, struct bpf_insn **insns, size_t *count,
                       struct berth_error **err);
/* cg_bpf_devices_apply: load the program for linux_spec's rules and attach it (BPF_F_ALLOW_MULTI)
 * to the cgroup dir, then detach the programs it replaces */
int cg_bpf_devices_apply(const char *dir, json_t *linux_spec, struct berth_error **err);
int cg_bpf_rules_apply(const char *dir, const struct cg_dev_rule *rules, size_t n, struct berth_error **err);

/* ---- cgroup_update.c: `berth-runtime update` ---- */
int rt_cmd_update(const struct rt_opts *o, int argc, char **argv, struct berth_error **err);
/* rt_cgroup_update: apply res to the running container's cgroups */
int rt_cgroup_update(const struct cg_ctx *ctx, const char *path, json_t *res, json_t *merged,
                     struct berth_error **err);
