/* ipam.c - address allocation on the bridge: a bitmap over the range, callers hold the lock */
#include "common/xalloc.h"
#include "network/net_int.h"
#include <errno.h>
#include <string.h>

#define IPAM_MIN_PREFIX 8 /* a /8 is 2 MiB of bits; larger ranges make no sense for one bridge */

int ipam_init(struct ipam *p, const struct cidr *subnet, const struct cidr *range, uint32_t gateway,
              struct berth_error **err) {
  memset(p, 0, sizeof(*p));
  char a[16];
  ip_str(cidr_net(range), a);
  if (range->prefix < IPAM_MIN_PREFIX || range->prefix > 30)
    return berr(err, EINVAL, "address range %s/%d: the prefix must be between /%d and /30", a, range->prefix,
                IPAM_MIN_PREFIX);
  if (!cidr_contains(subnet, cidr_net(range)) || range->prefix < subnet->prefix)
    return berr(err, EINVAL, "address range %s/%d is not inside the bridge's subnet", a, range->prefix);
  p->range = *range;
  p->first = cidr_net(range);
  p->size = 1u << (32 - range->prefix);
  p->bits = xcalloc(p->size / 8 + 1, 1);
  p->reserved[0] = cidr_net(subnet);
  p->reserved[1] = cidr_net(subnet) | ~cidr_mask(subnet->prefix);
  p->reserved[2] = gateway;
  return 0;
}

void ipam_free(struct ipam *p) {
  free(p->bits);
  p->bits = NULL;
}

static bool reserved(const struct ipam *p, uint32_t ip) {
  return ip == p->reserved[0] || ip == p->reserved[1] || ip == p->reserved[2];
}

bool ipam_used(const struct ipam *p, uint32_t ip) {
  uint32_t i = ip - p->first;
  if (ip < p->first || i >= p->size) return false;
  return p->bits[i / 8] & (1u << (i % 8));
}

static void set_bit(struct ipam *p, uint32_t ip, bool on) {
  uint32_t i = ip - p->first;
  if (ip < p->first || i >= p->size) return;
  if (on)
    p->bits[i / 8] |= (uint8_t)(1u << (i % 8));
  else
    p->bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

int ipam_alloc(struct ipam *p, uint32_t want, uint32_t *out, struct berth_error **err) {
  char a[16];
  if (want) {
    ip_str(want, a);
    if (want < p->first || want - p->first >= p->size || reserved(p, want))
      return berr(err, EINVAL, "no available IPv4 address: %s is outside the range or reserved", a);
    if (ipam_used(p, want)) return berr(err, EEXIST, "Address already in use: %s", a);
    set_bit(p, want, true);
    *out = want;
    return 0;
  }
  /* Docker hands out addresses in order and wraps around: released ones come back last */
  for (uint32_t k = 0; k < p->size; k++) {
    uint32_t ip = p->first + (p->next + k) % p->size;
    if (reserved(p, ip) || ipam_used(p, ip)) continue;
    set_bit(p, ip, true);
    p->next = (ip - p->first + 1) % p->size;
    *out = ip;
    return 0;
  }
  ip_str(p->first, a);
  return berr(err, ENOSPC, "no available IPv4 address in %s/%d", a, p->range.prefix);
}

void ipam_release(struct ipam *p, uint32_t ip) { set_bit(p, ip, false); }
