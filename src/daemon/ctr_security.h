/* ctr_security.h - Docker's security defaults and resource flags: HostConfig checks at create and
 * their translation into the OCI spec (capabilities, seccomp, devices, rlimits, cgroup resources) */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include "common/error.h"

/* ctr_security_adapt: validate the HostConfig of a create (with defaults filled in) with Docker's
 * messages (-EINVAL) and normalize it the way Docker stores it (MemorySwap = 2*Memory, ...) */
int ctr_security_adapt(json_t *hc, struct berth_error **err);

/* ctr_security_apply: fold HostConfig's security and resource settings into spec, after
 * process.user and the mounts are set; rootfs is the container's root for group names */
int ctr_security_apply(json_t *spec, const json_t *hc, const char *rootfs, struct berth_error **err);

/* ctr_seccomp_convert: a Docker seccomp profile -> OCI linux.seccomp for this machine's
 * architecture and kernel, keeping rules whose includes/excludes match the bounding caps */
int ctr_seccomp_convert(const json_t *profile, const json_t *bounding, json_t **out, struct berth_error **err);

/* the default profile, embedded at build time from seccomp-default.json */
extern const char ctr_seccomp_default_json[];

/* ctr_cap_normalize: "net_admin" / "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL"; NULL if unknown */
char *ctr_cap_normalize(const char *name);

/* ctr_cap_all: every capability this build and the running kernel know (Privileged, "ALL") */
json_t *ctr_cap_all(void);
