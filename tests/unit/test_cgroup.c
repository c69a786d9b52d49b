/* test_cgroup.c - berth-runtime's cgroup writers against fake v1/v2 trees, and the eBPF device filter */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"

/* ---- helpers ---- */

static char *tmp_tree(void) {
  char tmpl[] = "/tmp/berth-cgtest-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  return xstrdup(tmpl);
}

static void put(const char *dir, const char *file, const char *text) {
  _cleanup_free_ char *p = path_join(dir, file);
  assert_int_equal(mkdir_p(dir, 0755, NULL), 0);
  assert_int_equal(write_file_atomic(p, text, strlen(text), 0644, 0, NULL), 0);
}

/* the fake tree logs each write as a line: compare the whole log */
static void expect_file(const char *dir, const char *file, const char *want) {
  _cleanup_free_ char *p = path_join(dir, file), *text = NULL;
  if (read_file(p, &text, NULL, NULL) < 0) fail_msg("%s is missing (wanted \"%s\")", p, want);
  if (strcmp(text, want) != 0) fail_msg("%s: got \"%s\", want \"%s\"", p, text, want);
}

static void expect_absent(const char *dir, const char *file) {
  _cleanup_free_ char *p = path_join(dir, file);
  if (access(p, F_OK) == 0) fail_msg("%s exists", p);
}

static json_t *parse(const char *text) {
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j) fail_msg("bad test JSON: %s", je.text);
  return j;
}

static const char full_resources[] =
    "{\"cgroupsPath\": \"/berth/c1\", \"resources\": {"
    " \"memory\": {\"limit\": 104857600, \"reservation\": 52428800, \"swap\": 209715200, \"kernel\": 1000,"
    "   \"kernelTCP\": 4096000, \"swappiness\": 30, \"disableOOMKiller\": true},"
    " \"cpu\": {\"shares\": 1024, \"quota\": 50000, \"period\": 100000, \"realtimePeriod\": 1000000,"
    "   \"realtimeRuntime\": 950000, \"cpus\": \"0-1\", \"mems\": \"0\"},"
    " \"pids\": {\"limit\": 100},"
    " \"blockIO\": {\"weight\": 500, \"leafWeight\": 300, \"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 300, \"leafWeight\": 200}],"
    "   \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1048576}],"
    "   \"throttleWriteBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 2097152}],"
    "   \"throttleReadIOPSDevice\": [{\"major\": 8, \"minor\": 16, \"rate\": 100}],"
    "   \"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 16, \"rate\": 0}]},"
    " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}],"
    " \"network\": {\"classID\": 1048577, \"priorities\": [{\"name\": \"eth0\", \"priority\": 5}]},"
    " \"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 200, \"access\": \"rw\"}]";

/* ---- conversions and checks ---- */

static void test_conversions(void **state) {
  (void)state;
  assert_int_equal(cg_shares_to_weight(2), 1);
  assert_int_equal(cg_shares_to_weight(1024), 39);
  assert_int_equal(cg_shares_to_weight(262144), 10000);
  assert_int_equal(cg_blkio_to_io_weight(10), 1);
  assert_int_equal(cg_blkio_to_io_weight(500), 4950);
  assert_int_equal(cg_blkio_to_io_weight(1000), 10000);
  int64_t out;
  assert_int_equal(cg_swap_v2(200, 100, &out, NULL), 0);
  assert_int_equal(out, 100);
  assert_int_equal(cg_swap_v2(-1, 100, &out, NULL), 0);
  assert_int_equal(out, -1);
  assert_int_equal(cg_swap_v2(0, -1, &out, NULL), 0);
  assert_int_equal(out, -1);
  assert_int_equal(cg_swap_v2(0, 100, &out, NULL), 0);
  assert_int_equal(out, 0);
  _cleanup_berr_ struct berth_error *err = NULL;
  assert_int_equal(cg_swap_v2(50, 100, &out, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "bigger than memory limit"));
  berr_clear(&err);
  assert_int_equal(cg_swap_v2(50, 0, &out, &err), -EINVAL);
}

static void test_relative_checks(void **state) {
  (void)state;
  static const struct { const char *res, *needle; } bad[] = {
      {"{\"memory\": {\"limit\": 200, \"swap\": 100}}", "bigger than memory limit"},
      {"{\"memory\": {\"swappiness\": 101}}", "swappiness"},
      {"{\"cpu\": {\"shares\": -5}}", "cpu shares"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    _cleanup_json_ json_t *res = parse(bad[i].res);
    _cleanup_berr_ struct berth_error *err = NULL;
    assert_int_equal(cg_check_resources(res, &err), -EINVAL);
    if (!strstr(err->msg, bad[i].needle)) fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].res, err->msg, bad[i].needle);
  }
  _cleanup_json_ json_t *ok = parse("{\"memory\": {\"limit\": 100, \"swap\": -1, \"swappiness\": 0}}");
  assert_int_equal(cg_check_resources(ok, NULL), 0);
}

/* ---- v2 ---- */

static void test_v2_fake_tree(void **state) {
  (void)state;
  _cleanup_free_ char *root = tmp_tree();
  put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
  _cleanup_free_ char *dir = path_join(root, "berth/c1"), *mid = path_join(root, "berth");
  put(dir, "memory.swap.max", ""); /* present: swap accounting is on */
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_fake(&ctx, root, CG_V2);
  char spec[4096];
  snprintf(spec, sizeof(spec), "%s, \"unified\": {\"memory.high\": \"90000000\"}, \"rdma\": {\"mlx5_0\": {\"hcaHandles\": 3, \"hcaObjects\": 1000}}}}", full_resources);
  _cleanup_json_ json_t *lx = parse(spec);
  json_object_del(json_object_get(json_object_get(lx, "resources"), "cpu"), "realtimePeriod");
  json_object_del(json_object_get(json_object_get(lx, "resources"), "cpu"), "realtimeRuntime");
  _cleanup_berr_ struct berth_error *err = NULL;
  if (cg_create(&ctx, "/berth/c1", lx, &err) < 0) fail_msg("%s", err->msg);
  expect_file(root, "cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +rdma\n");
  expect_file(mid, "cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +rdma\n");
  expect_absent(dir, "cgroup.subtree_control");
  expect_file(dir, "memory.max", "104857600\n");
  expect_file(dir, "memory.swap.max", "104857600\n"); /* memory+swap 200M - memory 100M */
  expect_file(dir, "memory.low", "52428800\n");
  expect_file(dir, "memory.high", "90000000\n");
  expect_file(dir, "cpu.weight", "39\n");
  expect_file(dir, "cpu.max", "50000 100000\n");
  expect_file(dir, "cpuset.cpus", "0-1\n");
  expect_file(dir, "cpuset.mems", "0\n");
  expect_file(dir, "pids.max", "100\n");
  expect_file(dir, "io.weight", "4950\n8:0 2930\n");
  expect_file(dir, "io.max", "8:0 rbps=1048576\n8:0 wbps=2097152\n8:16 riops=100\n8:16 wiops=max\n");
  expect_file(dir, "hugetlb.2MB.max", "4194304\n");
  expect_file(dir, "rdma.max", "mlx5_0 hca_handle=3 hca_object=1000\n");
  expect_absent(dir, "memory.swappiness"); /* v1 only: ignored like runc */
  expect_absent(dir, "net_cls.classid");
  rm_rf(root, NULL);
}

static void test_v2_values(void **state) {
  (void)state;
  static const struct { const char *res, *file, *want; } cases[] = {
      {"{\"memory\": {\"limit\": -1}}", "memory.max", "max\n"},
      {"{\"memory\": {\"limit\": -1}}", "memory.swap.max", "max\n"},
      {"{\"memory\": {\"limit\": 1000, \"swap\": -1}}", "memory.swap.max", "max\n"},
      {"{\"cpu\": {\"quota\": -1, \"period\": 50000}}", "cpu.max", "max 50000\n"},
      {"{\"cpu\": {\"quota\": 20000}}", "cpu.max", "20000\n"},
      {"{\"cpu\": {\"shares\": 2}}", "cpu.weight", "1\n"},
      {"{\"pids\": {\"limit\": -1}}", "pids.max", "max\n"},
      {"{\"pids\": {\"limit\": 0}}", "pids.max", "max\n"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    _cleanup_free_ char *root = tmp_tree();
    put(root, "memory.swap.max", "");
    _cleanup_cg_ctx_ struct cg_ctx ctx;
    cg_ctx_fake(&ctx, root, CG_V2);
    _cleanup_json_ json_t *res = parse(cases[i].res);
    _cleanup_berr_ struct berth_error *err = NULL;
    if (cg_v2_apply(&ctx, root, res, &err) < 0) fail_msg("%s: %s", cases[i].res, err->msg);
    expect_file(root, cases[i].file, cases[i].want);
    rm_rf(root, NULL);
  }
}

static void test_v2_refusals(void **state) {
  (void)state;
  static const struct { const char *res, *needle; } cases[] = {
      {"{\"cpu\": {\"realtimeRuntime\": 1000}}", "realtime"},
      {"{\"unified\": {\"../x\": \"1\"}}", "invalid cgroup file name"},
      {"{\"unified\": {\"memory.high\": 5}}", "must be a string"},
      {"{\"memory\": {\"swap\": 100}}", "needs a memory limit"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    _cleanup_free_ char *root = tmp_tree();
    _cleanup_cg_ctx_ struct cg_ctx ctx;
    cg_ctx_fake(&ctx, root, CG_V2);
    _cleanup_json_ json_t *res = parse(cases[i].res);
    _cleanup_berr_ struct berth_error *err = NULL;
    assert_true(cg_v2_apply(&ctx, root, res, &err) < 0);
    if (!strstr(err->msg, cases[i].needle)) fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].res, err->msg, cases[i].needle);
    rm_rf(root, NULL);
  }
}

/* ---- v1 ---- */

static void make_v1_tree(const char *root) {
  static const char *const hiers[] = {"memory", "pids", "cpu,cpuacct", "blkio", "hugetlb", "net_cls,net_prio", "devices", "freezer"};
  for (size_t i = 0; i < ARRAY_SIZE(hiers); i++) {
    _cleanup_free_ char *d = path_join(root, hiers[i]);
    assert_int_equal(mkdir_p(d, 0755, NULL), 0);
  }
  _cleanup_free_ char *cpuset = path_join(root, "cpuset");
  put(cpuset, "cpuset.cpus", "0-3\n");
  put(cpuset, "cpuset.mems", "0\n");
}

static void test_v1_fake_tree(void **state) {
  (void)state;
  _cleanup_free_ char *root = tmp_tree();
  make_v1_tree(root);
  _cleanup_free_ char *mem = xasprintf("%s/memory/berth/c1", root), *blk = xasprintf("%s/blkio/berth/c1", root);
  put(mem, "memory.memsw.limit_in_bytes", "");
  put(blk, "blkio.weight", "");     /* a CFQ kernel */
  put(blk, "blkio.leaf_weight", "");
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_fake(&ctx, root, CG_HYBRID);
  char spec[4096];
  snprintf(spec, sizeof(spec), "%s}, \"devices\": [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229}]}", full_resources);
  _cleanup_json_ json_t *lx = parse(spec);
  _cleanup_berr_ struct berth_error *err = NULL;
  if (cg_create(&ctx, "/berth/c1", lx, &err) < 0) fail_msg("%s", err->msg);
  expect_file(mem, "memory.limit_in_bytes", "104857600\n");
  expect_file(mem, "memory.memsw.limit_in_bytes", "209715200\n");
  expect_file(mem, "memory.soft_limit_in_bytes", "52428800\n");
  expect_file(mem, "memory.kmem.tcp.limit_in_bytes", "4096000\n");
  expect_absent(mem, "memory.kmem.limit_in_bytes"); /* ignored: the kernel has dropped it */
  expect_file(mem, "memory.swappiness", "30\n");
  expect_file(mem, "memory.oom_control", "1\n");
  _cleanup_free_ char *pids = xasprintf("%s/pids/berth/c1", root), *cpu = xasprintf("%s/cpu,cpuacct/berth/c1", root);
  expect_file(pids, "pids.max", "100\n");
  expect_file(cpu, "cpu.shares", "1024\n");
  expect_file(cpu, "cpu.cfs_period_us", "100000\n");
  expect_file(cpu, "cpu.cfs_quota_us", "50000\n");
  expect_file(cpu, "cpu.rt_period_us", "1000000\n");
  expect_file(cpu, "cpu.rt_runtime_us", "950000\n");
  _cleanup_free_ char *cs = xasprintf("%s/cpuset/berth/c1", root), *csmid = xasprintf("%s/cpuset/berth", root);
  expect_file(csmid, "cpuset.cpus", "0-3\n"); /* inherited level by level */
  expect_file(csmid, "cpuset.mems", "0\n");
  expect_file(cs, "cpuset.cpus", "0-3\n0-1\n");
  expect_file(cs, "cpuset.mems", "0\n0\n");
  expect_file(blk, "blkio.weight", "500\n");
  expect_file(blk, "blkio.leaf_weight", "300\n");
  expect_file(blk, "blkio.weight_device", "8:0 300\n");
  expect_file(blk, "blkio.leaf_weight_device", "8:0 200\n");
  expect_file(blk, "blkio.throttle.read_bps_device", "8:0 1048576\n");
  expect_file(blk, "blkio.throttle.write_bps_device", "8:0 2097152\n");
  expect_file(blk, "blkio.throttle.read_iops_device", "8:16 100\n");
  expect_file(blk, "blkio.throttle.write_iops_device", "8:16 0\n");
  _cleanup_free_ char *hug = xasprintf("%s/hugetlb/berth/c1", root), *net = xasprintf("%s/net_cls,net_prio/berth/c1", root);
  expect_file(hug, "hugetlb.2MB.limit_in_bytes", "4194304\n");
  expect_file(net, "net_cls.classid", "1048577\n");
  expect_file(net, "net_prio.ifpriomap", "eth0 5\n");
  _cleanup_free_ char *dev = xasprintf("%s/devices/berth/c1", root);
  expect_file(dev, "devices.deny", "a\n");
  expect_file(dev, "devices.allow", "c 10:200 rw\nc *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\n"
                                    "c 1:9 rwm\nc 5:0 rwm\nc 5:1 rwm\nc 5:2 rwm\nc 136:* rwm\nc 10:229 rwm\n");
  _cleanup_free_ char *frz = xasprintf("%s/freezer/berth", root);
  expect_absent(frz, ""); /* not made on the run path */
  assert_int_equal(cg_destroy(&ctx, "/berth/c1", NULL), -ENOTEMPTY); /* fake files keep the dirs busy */
  rm_rf(root, NULL);
}

/* the memsw/limit order: raising both writes swap first, otherwise limit first */
static void test_v1_memory_order(void **state) {
  (void)state;
  _cleanup_free_ char *root = tmp_tree();
  put(root, "memory.memsw.limit_in_bytes", "");
  put(root, "memory.limit_in_bytes", "100\n");
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_fake(&ctx, root, CG_V1);
  _cleanup_json_ json_t *lx = parse("{\"resources\": {\"memory\": {\"limit\": 1000, \"swap\": 2000}}}");
  assert_int_equal(cg_v1_apply(&ctx, "memory", root, root, lx, NULL), 0);
  /* the log of writes: memsw was written first, the limit file already held "100\n" */
  expect_file(root, "memory.memsw.limit_in_bytes", "2000\n");
  expect_file(root, "memory.limit_in_bytes", "100\n1000\n");
  rm_rf(root, NULL);
}

/* a failure half way removes every directory the call made, and none it did not */
static void test_create_cleans_up(void **state) {
  (void)state;
  _cleanup_free_ char *root = tmp_tree();
  make_v1_tree(root);
  _cleanup_free_ char *keep = xasprintf("%s/memory/berth", root);
  assert_int_equal(mkdir(keep, 0755), 0);
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_fake(&ctx, root, CG_V1);
  _cleanup_json_ json_t *lx = parse("{\"resources\": {\"hugepageLimits\": [{\"limit\": 5}]}}");
  _cleanup_berr_ struct berth_error *err = NULL;
  assert_true(cg_create(&ctx, "/berth/c2", lx, &err) < 0);
  assert_non_null(strstr(err->msg, "pageSize"));
  _cleanup_free_ char *c2 = xasprintf("%s/memory/berth/c2", root), *pids = xasprintf("%s/pids/berth", root);
  assert_int_not_equal(access(c2, F_OK), 0);
  assert_int_not_equal(access(pids, F_OK), 0);
  assert_int_equal(access(keep, F_OK), 0);
  berr_clear(&err);
  assert_true(cg_create(&ctx, "slice:prefix:name", lx, &err) < 0);
  assert_non_null(strstr(err->msg, "systemd cgroup paths"));
  berr_clear(&err);
  assert_int_equal(cg_create(&ctx, "/berth/../../etc", lx, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "invalid cgroupsPath"));
  rm_rf(root, NULL);
}

/* destroy: every hierarchy's directory goes, also with cgroups the container made below it (a
 * child left in place keeps the parent busy: the leftover berth/<id> directories) */
static void test_destroy_nested(void **state) {
  (void)state;
  _cleanup_free_ char *root = tmp_tree();
  _cleanup_free_ char *mem = xasprintf("%s/memory/berth/c3/init.scope/x", root),
                      *cpu = xasprintf("%s/cpu,cpuacct/berth/c3/sub", root), *pids = xasprintf("%s/pids/berth/c3", root);
  assert_int_equal(mkdir_p(mem, 0755, NULL), 0);
  assert_int_equal(mkdir_p(cpu, 0755, NULL), 0);
  assert_int_equal(mkdir_p(pids, 0755, NULL), 0);
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_fake(&ctx, root, CG_V1);
  assert_int_equal(cg_destroy(&ctx, "/berth/c3", NULL), 0);
  _cleanup_free_ char *m = xasprintf("%s/memory/berth/c3", root), *c = xasprintf("%s/cpu,cpuacct/berth/c3", root),
                      *b = xasprintf("%s/memory/berth", root);
  assert_int_not_equal(access(m, F_OK), 0);
  assert_int_not_equal(access(c, F_OK), 0);
  assert_int_not_equal(access(pids, F_OK), 0);
  assert_int_equal(access(b, F_OK), 0); /* the shared parent stays */
  _cleanup_cg_ctx_ struct cg_ctx v2;
  cg_ctx_fake(&v2, root, CG_V2);
  _cleanup_free_ char *d2 = xasprintf("%s/berth/c4/a/b", root), *c4 = xasprintf("%s/berth/c4", root);
  assert_int_equal(mkdir_p(d2, 0755, NULL), 0);
  assert_int_equal(cg_destroy(&v2, "/berth/c4", NULL), 0);
  assert_int_not_equal(access(c4, F_OK), 0);
  rm_rf(root, NULL);
}

/* update: v2 recomputes swap.max from the merged view; v1 makes a skipped hierarchy and moves the
 * container's processes there after writing its settings */
static void test_update(void **state) {
  (void)state;
  _cleanup_free_ char *root = tmp_tree();
  _cleanup_free_ char *dir = path_join(root, "c");
  put(dir, "memory.swap.max", "");
  _cleanup_cg_ctx_ struct cg_ctx v2;
  cg_ctx_fake(&v2, root, CG_V2);
  _cleanup_json_ json_t *res = parse("{\"memory\": {\"limit\": 200}, \"devices\": [{\"allow\": true}]}");
  _cleanup_json_ json_t *merged = parse("{\"memory\": {\"limit\": 200, \"swap\": 500}}");
  _cleanup_berr_ struct berth_error *err = NULL;
  if (rt_cgroup_update(&v2, "/c", res, merged, &err) < 0) fail_msg("%s", err->msg);
  expect_file(dir, "memory.max", "200\n");
  expect_file(dir, "memory.swap.max", "300\n");
  put(dir, "memory.current", "5000\n");
  _cleanup_json_ json_t *low = parse("{\"memory\": {\"limit\": 1000, \"checkBeforeUpdate\": true}}");
  assert_int_equal(rt_cgroup_update(&v2, "/c", low, low, &err), -EBUSY);
  assert_non_null(strstr(err->msg, "below the current usage 5000"));
  berr_clear(&err);
  rm_rf(root, NULL);

  _cleanup_free_ char *root1 = tmp_tree();
  make_v1_tree(root1);
  _cleanup_free_ char *mem = xasprintf("%s/memory/c", root1), *cpu = xasprintf("%s/cpu,cpuacct/c", root1);
  put(mem, "cgroup.procs", "4242\n");
  _cleanup_cg_ctx_ struct cg_ctx v1;
  cg_ctx_fake(&v1, root1, CG_V1);
  _cleanup_json_ json_t *res1 = parse("{\"cpu\": {\"quota\": 20000, \"period\": 100000}, \"pids\": {\"limit\": 9}}");
  if (rt_cgroup_update(&v1, "/c", res1, res1, &err) < 0) fail_msg("%s", err->msg);
  expect_file(cpu, "cpu.cfs_period_us", "100000\n");
  expect_file(cpu, "cpu.cfs_quota_us", "20000\n");
  expect_file(cpu, "cgroup.procs", "4242\n");
  _cleanup_free_ char *pids = xasprintf("%s/pids/c", root1);
  expect_file(pids, "pids.max", "9\n");
  expect_file(pids, "cgroup.procs", "4242\n");
  _cleanup_json_ json_t *bad = parse("{\"memory\": {\"limit\": 300, \"swap\": 100}}");
  berr_clear(&err);
  assert_int_equal(rt_cgroup_update(&v1, "/c", bad, bad, &err), -EINVAL);
  rm_rf(root1, NULL);
}

/* ---- eBPF: run the generated program in a small interpreter of the opcodes it uses ---- */

static int run_prog(const struct bpf_insn *p, size_t n, int type, int access, int major, int minor) {
  uint64_t r[11] = {0};
  uint32_t ctx[3] = {(uint32_t)(access << 16 | type), (uint32_t)major, (uint32_t)minor};
  for (size_t pc = 0; pc < n; pc++) {
    const struct bpf_insn *i = &p[pc];
    switch (i->code) {
    case BPF_LDX | BPF_MEM | BPF_W: r[i->dst_reg] = ctx[i->off / 4]; break;
    case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
    case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = (uint64_t)(int64_t)i->imm; break;
    case BPF_ALU64 | BPF_AND | BPF_K: r[i->dst_reg] &= (uint64_t)(int64_t)i->imm; break;
    case BPF_ALU64 | BPF_RSH | BPF_K: r[i->dst_reg] >>= i->imm; break;
    case BPF_JMP | BPF_JNE | BPF_K:
      if (r[i->dst_reg] != (uint64_t)(int64_t)i->imm) pc += (size_t)i->off;
      break;
    case BPF_JMP | BPF_EXIT: return (int)r[0];
    default: fail_msg("unexpected opcode 0x%x at %zu", i->code, pc);
    }
  }
  fail_msg("the program ran off its end");
  return -1;
}

enum { B = BPF_DEVCG_DEV_BLOCK, C = BPF_DEVCG_DEV_CHAR, RD = BPF_DEVCG_ACC_READ, WR = BPF_DEVCG_ACC_WRITE, MK = BPF_DEVCG_ACC_MKNOD };

static void test_bpf_program(void **state) {
  (void)state;
  _cleanup_json_ json_t *lx = parse(
      "{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
      " {\"allow\": true, \"type\": \"b\", \"major\": 8, \"minor\": -1, \"access\": \"r\"},"
      " {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 200, \"access\": \"rwm\"},"
      " {\"allow\": false, \"type\": \"c\", \"major\": 10, \"minor\": 200, \"access\": \"w\"}]}}");
  _cleanup_free_ struct cg_dev_rule *rules = NULL;
  _cleanup_free_ struct bpf_insn *prog = NULL;
  size_t n, count;
  assert_int_equal(cg_dev_rules(lx, &rules, &n, NULL), 0);
  assert_int_equal(cg_bpf_device_prog(rules, n, &prog, &count, NULL), 0);
  static const struct { int type, access, major, minor, want; } cases[] = {
      {C, RD | WR, 1, 3, 1},  /* /dev/null: a default */
      {C, RD, 1, 1, 0},       /* /dev/mem: denied by "a" */
      {B, RD, 8, 0, 1},       /* sda read */
      {B, RD | WR, 8, 0, 0},  /* sda write: more than the rule allows */
      {B, MK, 8, 0, 1},       /* mknod of any block device: a default */
      {C, RD, 10, 200, 1},    /* tun read: allowed, the later deny is about w only */
      {C, RD | WR, 10, 200, 1}, /* rw is not a subset of the deny's w: the earlier allow decides */
      {C, WR, 10, 200, 0},    /* w alone: the last rule denies */
      {C, RD, 136, 4, 1},     /* a pty */
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    int got = run_prog(prog, count, cases[i].type, cases[i].access, cases[i].major, cases[i].minor);
    if (got != cases[i].want) fail_msg("case %zu (%d:%d type %d access %d): got %d", i, cases[i].major, cases[i].minor, cases[i].type, cases[i].access, got);
  }
  /* an "allow a" at the end makes every earlier rule dead code: the program stops there */
  struct cg_dev_rule all[] = {{false, 'a', -1, -1, 7}, {true, 'c', 1, 3, 7}, {true, 'a', -1, -1, 7}};
  _cleanup_free_ struct bpf_insn *p2 = NULL;
  assert_int_equal(cg_bpf_device_prog(all, 3, &p2, &count, NULL), 0);
  assert_int_equal(count, 6 + 2);
  assert_int_equal(run_prog(p2, count, C, RD, 1, 1), 1);
}

/* ---- eBPF on the kernel: a process in a cgroup2 directory with the filter attached ---- */

static char *unified_root(void) {
  struct statfs sf;
  static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
  for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
    if (statfs(roots[i], &sf) == 0 && sf.f_type == 0x63677270) return xstrdup(roots[i]);
  return NULL;
}

static int child_opens(const char *dir) {
  pid_t pid = fork();
  if (pid == 0) {
    /* into the filtered cgroup (in hybrid mode we stay in the root v1 devices cgroup: allow all) */
    if (cg_write(NULL, dir, "cgroup.procs", "0", NULL) < 0) _exit(10);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    _exit((null_fd >= 0 ? 0 : 1) | (zero_fd < 0 && errno == EPERM ? 0 : 2));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

static void test_bpf_attach(void **state) {
  (void)state;
  _cleanup_free_ char *root = unified_root();
  if (geteuid() != 0 || !root) skip();
  _cleanup_free_ char *dir = xasprintf("%s/berth-cgtest-bpf-%d", root, (int)getpid());
  if (mkdir(dir, 0755) < 0) skip();
  /* deny all but the defaults (which hold /dev/null and /dev/zero) */
  _cleanup_json_ json_t *lx = parse("{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}}");
  _cleanup_berr_ struct berth_error *err = NULL;
  int r = cg_bpf_devices_apply(dir, lx, &err);
  if (r == -EPERM || r == -ENOSYS || r == -EINVAL) {
    rmdir(dir);
    skip(); /* no BPF here */
  }
  if (r < 0) fail_msg("%s", err->msg);
  /* the defaults allow /dev/zero (1:5): both open */
  int got = child_opens(dir);
  assert_int_equal(got & 1, 0);
  assert_int_equal(got & 2, 2);
  /* again with zero denied after the defaults (a linux.devices entry cannot deny: use a rule set
   * where the last word on 1:5 is a deny by replacing the program) */
  _cleanup_json_ json_t *lx2 = parse("{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},"
                                     " \"devices\": []}");
  _cleanup_free_ struct cg_dev_rule *rules = NULL;
  size_t n;
  assert_int_equal(cg_dev_rules(lx2, &rules, &n, NULL), 0);
  for (size_t i = 0; i < n; i++)
    if (rules[i].type == 'c' && rules[i].major == 1 && rules[i].minor == 5) rules[i].allow = false;
  r = cg_bpf_rules_apply(dir, rules, n, &err);
  if (r < 0) fail_msg("%s", err->msg);
  got = child_opens(dir);
  rmdir(dir);
  if (got != 0) fail_msg("child: /dev/null %s, /dev/zero %s (status %d)", got & 1 ? "refused" : "ok",
                         got & 2 ? "not refused" : "refused", got);
}

/* the v2 manager on the kernel's cgroup2 tree (the hybrid's unified one here), below a cgroup of
 * the test's own so that no controller of the host's root is touched: mkdir, the device filter,
 * joining, destroy, and a failed create that removes what it made */
static void test_v2_real_tree(void **state) {
  (void)state;
  _cleanup_free_ char *host = unified_root();
  if (geteuid() != 0 || !host) skip();
  _cleanup_free_ char *root = xasprintf("%s/berth-cgtest-v2-%d", host, (int)getpid());
  if (mkdir(root, 0755) < 0) skip();
  struct cg_ctx ctx = {.root = xstrdup(root), .mode = CG_V2, .hiers = xcalloc(1, sizeof(struct cg_hier))};
  _cleanup_json_ json_t *lx = parse("{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}}");
  _cleanup_berr_ struct berth_error *err = NULL;
  int r = cg_create(&ctx, "/a/c1", lx, &err);
  if (r == -EPERM || r == -ENOSYS) {
    rmdir(root);
    cg_ctx_clear(&ctx);
    skip(); /* no BPF here */
  }
  if (r < 0) fail_msg("%s", err->msg);
  _cleanup_free_ char *dir = path_join(root, "a/c1");
  pid_t pid = fork();
  if (pid == 0) {
    if (cg_write(NULL, dir, "cgroup.procs", "0", NULL) < 0) _exit(10);
    int ok = open("/dev/null", O_RDWR | O_CLOEXEC);
    int denied = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
    _exit((ok >= 0 ? 0 : 1) | (denied < 0 && errno == EPERM ? 0 : 2));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  assert_int_equal(cg_destroy(&ctx, "/a/c1", NULL), 0);
  assert_int_not_equal(access(dir, F_OK), 0);
  /* a file no controller provides: refused, and a/c2 (but not a, which was there) removed */
  _cleanup_json_ json_t *bad = parse("{\"resources\": {\"unified\": {\"nosuch.max\": \"1\"}}}");
  berr_clear(&err);
  assert_true(cg_create(&ctx, "/a/c2", bad, &err) < 0);
  _cleanup_free_ char *c2 = path_join(root, "a/c2"), *a = path_join(root, "a");
  assert_int_not_equal(access(c2, F_OK), 0);
  assert_int_equal(access(a, F_OK), 0);
  berr_clear(&err);
  assert_true(cg_create(&ctx, "/b/c3", bad, &err) < 0);
  _cleanup_free_ char *b = path_join(root, "b");
  assert_int_not_equal(access(b, F_OK), 0);
  rmdir(a);
  rmdir(root);
  cg_ctx_clear(&ctx);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("child status %d: /dev/null must open, /dev/kmsg must be refused", status);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conversions),     cmocka_unit_test(test_relative_checks),
      cmocka_unit_test(test_v2_fake_tree),    cmocka_unit_test(test_v2_values),
      cmocka_unit_test(test_v2_refusals),     cmocka_unit_test(test_v1_fake_tree),
      cmocka_unit_test(test_v1_memory_order), cmocka_unit_test(test_create_cleans_up),
      cmocka_unit_test(test_bpf_program),     cmocka_unit_test(test_bpf_attach),
      cmocka_unit_test(test_v2_real_tree),    cmocka_unit_test(test_update),
      cmocka_unit_test(test_destroy_nested),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
