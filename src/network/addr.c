/* addr.c - IPv4 addresses, CIDR prefixes and Docker's MAC addresses derived from them */
#include "common/xalloc.h"
#include "network/net_int.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ip_parse(const char *s, uint32_t *out) {
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1) return -EINVAL;
  *out = ntohl(a.s_addr);
  return 0;
}

void ip_str(uint32_t ip, char out[16]) {
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

int cidr_parse(const char *s, struct cidr *out, struct berth_error **err) {
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash) return berr(err, EINVAL, "invalid CIDR address: %s", s ? s : "");
  _cleanup_free_ char *a = xstrndup(s, (size_t)(slash - s));
  char *end;
  errno = 0;
  long p = strtol(slash + 1, &end, 10);
  if (ip_parse(a, &out->addr) < 0 || *end || end == slash + 1 || p < 0 || p > 32)
    return berr(err, EINVAL, "invalid CIDR address: %s", s);
  out->prefix = (int)p;
  return 0;
}

bool cidr_contains(const struct cidr *c, uint32_t ip) { return (ip & cidr_mask(c->prefix)) == cidr_net(c); }

bool cidr_overlap(const struct cidr *a, const struct cidr *b) {
  int p = a->prefix < b->prefix ? a->prefix : b->prefix;
  return (a->addr & cidr_mask(p)) == (b->addr & cidr_mask(p));
}

void mac_from_ip(uint32_t ip, uint8_t mac[6]) {
  mac[0] = 0x02;
  mac[1] = 0x42;
  mac[2] = (uint8_t)(ip >> 24);
  mac[3] = (uint8_t)(ip >> 16);
  mac[4] = (uint8_t)(ip >> 8);
  mac[5] = (uint8_t)ip;
}

void mac_str(const uint8_t m[6], char out[18]) {
  snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int mac_parse(const char *s, uint8_t mac[6]) {
  unsigned v[6];
  char tail;
  if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return -EINVAL;
  if (strlen(s) != 17) return -EINVAL;
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)v[i];
  if (mac[0] & 1) return -EINVAL; /* a multicast address cannot name an interface */
  return 0;
}
