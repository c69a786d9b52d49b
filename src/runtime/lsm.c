/* lsm.c - AppArmor profiles and SELinux labels: applied when the host runs that LSM */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"

/* the checks runc makes: securityfs shows apparmor and the module says it is on */
bool rt_apparmor_enabled(void) {
  char buf[4] = "";
  _cleanup_close_ int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  return access("/sys/kernel/security/apparmor", F_OK) == 0 && fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 &&
         buf[0] == 'Y';
}

bool rt_selinux_enabled(void) { return access("/sys/fs/selinux/enforce", F_OK) == 0; }

int rt_lsm_check(json_t *spec, struct berth_error **err) {
  json_t *proc = json_object_get(spec, "process");
  const char *aa = json_string_value(json_object_get(proc, "apparmorProfile"));
  const char *se = json_string_value(json_object_get(proc, "selinuxLabel"));
  /* like runc: a profile or label that cannot be applied is an error, not a silent skip; a
   * mountLabel without SELinux is ignored (a mount context option would fail every mount) */
  if (aa && *aa && !rt_apparmor_enabled())
    return berr(err, ENOTSUP, "process.apparmorProfile \"%s\": AppArmor is not enabled on this host", aa);
  if (se && *se && !rt_selinux_enabled())
    return berr(err, ENOTSUP, "process.selinuxLabel \"%s\": SELinux is not enabled on this host", se);
  return 0;
}

/* write an attribute of our own for the next execve: /proc/thread-self/attr[/LSM]/NAME */
static int write_attr(const char *lsm, const char *name, const char *value, struct berth_error **err) {
  _cleanup_free_ char *path = xasprintf("/proc/thread-self/attr/%s/%s", lsm, name);
  if (access(path, F_OK) < 0) { /* kernels before 5.8 have only the shared file */
    free(path);
    path = xasprintf("/proc/thread-self/attr/%s", name);
  }
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", path);
  if (write(fd, value, strlen(value)) < 0) return berr_sys(err, errno, "write \"%s\" to \"%s\"", value, path);
  return 0;
}

int rt_lsm_apply(json_t *process, struct berth_error **err) {
  const char *aa = json_string_value(json_object_get(process, "apparmorProfile"));
  const char *se = json_string_value(json_object_get(process, "selinuxLabel"));
  if (aa && *aa) {
    /* aa_change_onexec: the profile takes effect at the execve of the container's process */
    _cleanup_free_ char *cmd = xasprintf("exec %s", aa);
    int r = write_attr("apparmor", "exec", cmd, err);
    if (r < 0) return berr_prefix(err, "apply AppArmor profile \"%s\"", aa);
  }
  if (se && *se) {
    int r = write_attr("selinux", "exec", se, err);
    if (r < 0) return berr_prefix(err, "apply SELinux label \"%s\"", se);
  }
  return 0;
}

char *rt_lsm_mount_data(json_t *spec, const char *type, const char *data) {
  const char *label = json_string_value(json_object_get(json_object_get(spec, "linux"), "mountLabel"));
  static const char *const labelled[] = {"tmpfs", "devpts", "mqueue", "shm"};
  bool want = false;
  for (size_t i = 0; type && i < ARRAY_SIZE(labelled); i++) want |= strcmp(type, labelled[i]) == 0;
  if (!want || !label || !*label || !rt_selinux_enabled()) return xstrdup(data ? data : "");
  return xasprintf("%s%scontext=\"%s\"", data ? data : "", data && *data ? "," : "", label);
}
