/* features.c - `berth-runtime features`: what this runtime implements, as runtime-spec features.md */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

static const char *const hook_kinds[] = {"prestart",       "createRuntime", "createContainer",
                                         "startContainer", "poststart",     "poststop"};
static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};

static json_t *strings(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

/* the capabilities libcap knows, as CAP_NAME (libcap spells them in lower case) */
static json_t *capabilities(void) {
  json_t *a = json_array();
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
    char *name = cap_to_name(c);
    if (!name) continue;
    _cleanup_free_ char *up = xstrdup(name);
    cap_free(name);
    if (strncmp(up, "cap_", 4) != 0) continue; /* a number: libcap does not know it */
    for (char *p = up; *p; p++) *p = (char)toupper((unsigned char)*p);
    json_array_append_new(a, json_string(up));
  }
  return a;
}

json_t *rt_features(void) {
  json_t *lx = json_pack("{s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}, s:{s:b}, s:{s:{s:b}}}",
                         "namespaces", strings(namespaces, ARRAY_SIZE(namespaces)), "capabilities", capabilities(),
                         "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0,
                         "seccomp", rt_seccomp_features(), "apparmor", "enabled", 1, "selinux", "enabled", 1,
                         "intelRdt", "enabled", 0, "mountExtensions", "idmap", "enabled", 0);
  return json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:s}}", "ociVersionMin", "1.0.0", "ociVersionMax", OCI_VERSION,
                   "hooks", strings(hook_kinds, ARRAY_SIZE(hook_kinds)), "mountOptions", rt_mount_option_names(),
                   "linux", lx, "annotations", "org.opencontainers.runtime.name", "berth-runtime");
}
