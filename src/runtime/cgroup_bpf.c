/* cgroup_bpf.c - cgroup v2 device control: an eBPF program made from the OCI device rules */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common/xalloc.h"
#include "runtime/cgroup.h"

/* the kernel's access bits are ours: the rules can be tested against the context as they are */
_Static_assert((int)CG_DEV_MKNOD == (int)BPF_DEVCG_ACC_MKNOD && (int)CG_DEV_READ == (int)BPF_DEVCG_ACC_READ &&
                   (int)CG_DEV_WRITE == (int)BPF_DEVCG_ACC_WRITE, "device access bits");

static int sys_bpf(int cmd, union bpf_attr *attr) { return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}
/* r[dst] = *(u32 *)(r[src] + off) */
static struct bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
static struct bpf_insn alu_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
static struct bpf_insn mov_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
/* if r[dst] != imm: skip off instructions */
static struct bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
static struct bpf_insn exit_insn(void) { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

enum { R0, R1, R2, R3, R4, R5 };
#define ALL_ACCESS (CG_DEV_READ | CG_DEV_WRITE | CG_DEV_MKNOD)

/* one rule: a test per constrained field, each jumping past the rule when it does not match, then
 * "return allow"; requested access must be a subset of the rule's, as in the v1 controller */
static size_t emit_rule(const struct cg_dev_rule *r, struct bpf_insn *out) {
  bool t = r->type != 'a', a = (r->access & ALL_ACCESS) != ALL_ACCESS, ma = r->major >= 0, mi = r->minor >= 0;
  size_t len = (t ? 1 : 0) + (a ? 3 : 0) + (ma ? 1 : 0) + (mi ? 1 : 0) + 2, k = 0;
  /* each jump skips the rest of the block: its length minus what has been emitted, minus itself */
#define SKIP ((int16_t)(len - k - 1))
  if (t) {
    out[k] = jne_imm(R2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, SKIP);
    k++;
  }
  if (a) {
    out[k++] = mov_reg(R1, R3);
    out[k++] = alu_imm(BPF_AND, R1, (int32_t)(~r->access & ALL_ACCESS));
    out[k] = jne_imm(R1, 0, SKIP);
    k++;
  }
  if (ma) {
    out[k] = jne_imm(R4, (int32_t)r->major, SKIP);
    k++;
  }
  if (mi) {
    out[k] = jne_imm(R5, (int32_t)r->minor, SKIP);
    k++;
  }
#undef SKIP
  out[k++] = alu_imm(BPF_MOV, R0, r->allow ? 1 : 0);
  out[k++] = exit_insn();
  return k;
}

int cg_bpf_device_prog(const struct cg_dev_rule *rules, size_t n, struct bpf_insn **insns, size_t *count,
                       struct berth_error **err) {
  if (n > 4096) return berr(err, E2BIG, "too many device rules (%zu)", n);
  struct bpf_insn *p = xcalloc(5 + n * 8 + 2, sizeof(*p));
  size_t k = 0;
  /* struct bpf_cgroup_dev_ctx: access_type = access << 16 | type, major, minor */
  p[k++] = ldx_w(R2, R1, 0);
  p[k++] = mov_reg(R3, R2);
  p[k++] = alu_imm(BPF_RSH, R3, 16);
  p[k++] = alu_imm(BPF_AND, R2, 0xffff);
  p[k++] = ldx_w(R4, R1, 4);
  p[k++] = ldx_w(R5, R1, 8);
  /* the last matching rule wins: test them from the last one back, the first match returns */
  for (size_t i = n; i-- > 0;) {
    const struct cg_dev_rule *r = &rules[i];
    if (r->major > INT32_MAX || r->minor > INT32_MAX) {
      free(p);
      return berr(err, EINVAL, "device number %lld:%lld is out of range", (long long)r->major, (long long)r->minor);
    }
    k += emit_rule(r, p + k);
    /* a rule matching every device and access: the rules before it can never decide */
    if (r->type == 'a' && r->major < 0 && r->minor < 0 && (r->access & ALL_ACCESS) == ALL_ACCESS) {
      *insns = p;
      *count = k;
      return 0;
    }
  }
  p[k++] = alu_imm(BPF_MOV, R0, 0); /* no rule matched: deny, like the v1 controller's "a" deny */
  p[k++] = exit_insn();
  *insns = p;
  *count = k;
  return 0;
}

static int prog_load(const struct bpf_insn *insns, size_t n, struct berth_error **err) {
  static const char license[] = "GPL";
  union bpf_attr a = {.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE, .insns = (uintptr_t)insns,
                      .insn_cnt = (uint32_t)n, .license = (uintptr_t)license};
  int fd = sys_bpf(BPF_PROG_LOAD, &a);
  if (fd >= 0) return fd;
  int e = errno;
  /* again with the verifier's log, only to explain the failure */
  _cleanup_free_ char *log = xcalloc(1, 65536);
  a.log_buf = (uintptr_t)log;
  a.log_size = 65536;
  a.log_level = 1;
  fd = sys_bpf(BPF_PROG_LOAD, &a);
  if (fd >= 0) return fd;
  log[strcspn(log, "\n")] = '\0';
  return berr_sys(err, e, "load the eBPF device filter%s%s", *log ? ": " : "", log);
}

/* the ids of the device programs attached to cgroup fd; heap array */
static int prog_query(int cgfd, uint32_t **ids, uint32_t *n, struct berth_error **err) {
  uint32_t cap = 64;
  *ids = xcalloc(cap, sizeof(**ids));
  union bpf_attr a = {.query = {.target_fd = (uint32_t)cgfd, .attach_type = BPF_CGROUP_DEVICE,
                                .prog_ids = (uintptr_t)*ids, .prog_cnt = cap}};
  if (sys_bpf(BPF_PROG_QUERY, &a) < 0) return berr_sys(err, errno, "query the cgroup's eBPF device programs");
  *n = a.query.prog_cnt < cap ? a.query.prog_cnt : cap;
  return 0;
}

static int prog_detach(int cgfd, uint32_t id) {
  union bpf_attr a = {.prog_id = id};
  _cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
  if (fd < 0) return -errno;
  a = (union bpf_attr){.target_fd = (uint32_t)cgfd, .attach_bpf_fd = (uint32_t)fd, .attach_type = BPF_CGROUP_DEVICE};
  return sys_bpf(BPF_PROG_DETACH, &a) < 0 ? -errno : 0;
}

int cg_bpf_rules_apply(const char *dir, const struct cg_dev_rule *rules, size_t n, struct berth_error **err) {
  _cleanup_free_ struct bpf_insn *insns = NULL;
  _cleanup_free_ uint32_t *old = NULL;
  size_t count;
  uint32_t nold = 0;
  int r = cg_bpf_device_prog(rules, n, &insns, &count, err);
  if (r < 0) return r;
  _cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgfd < 0) return berr_sys(err, errno, "open cgroup \"%s\"", dir);
  _cleanup_close_ int prog = prog_load(insns, count, err);
  if (prog < 0) return prog;
  if ((r = prog_query(cgfd, &old, &nold, err)) < 0) return r;
  /* ALLOW_MULTI: the new program joins before the old ones leave, no instant without a filter */
  union bpf_attr a = {.target_fd = (uint32_t)cgfd, .attach_bpf_fd = (uint32_t)prog,
                      .attach_type = BPF_CGROUP_DEVICE, .attach_flags = BPF_F_ALLOW_MULTI};
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) return berr_sys(err, errno, "attach the eBPF device filter to \"%s\"", dir);
  for (uint32_t i = 0; i < nold; i++) {
    int e = prog_detach(cgfd, old[i]);
    if (e < 0 && e != -ENOENT) return berr_sys(err, -e, "detach the old eBPF device filter %u from \"%s\"", old[i], dir);
  }
  return 0;
}

int cg_bpf_devices_apply(const char *dir, json_t *lx, struct berth_error **err) {
  _cleanup_free_ struct cg_dev_rule *rules = NULL;
  size_t n;
  int r = cg_dev_rules(lx, &rules, &n, err);
  return r < 0 ? r : cg_bpf_rules_apply(dir, rules, n, err);
}
