/* fuzz_dns.c - libFuzzer target for the embedded DNS server's packet layer: every input is read
 * as a query from a container (and as an upstream reply); a parsed query must give a response
 * that reads back to the same question and stays within its size limit */
#include "network/dns.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const struct dns_question *q, size_t limit) {
  static uint8_t out[4096];
  struct in_addr addrs[40];
  for (unsigned i = 0; i < 40; i++) addrs[i].s_addr = i;
  size_t n = dns_build_response(q, 0, addrs, 40, limit, out);
  if (n > limit || n < 12 + (size_t)q->name.wire_len + 4) abort();
  struct dns_name back;
  size_t off = 12;
  if (dns_name_read(out, n, &off, &back) < 0 || strcmp(back.text, q->name.text) != 0) abort();
  if (back.wire_len != q->name.wire_len || memcmp(back.wire, q->name.wire, back.wire_len) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dns_question q;
  if (dns_parse_query(data, size, &q) == 0) {
    if (q.udp_size < 512 || strlen(q.name.text) > 253) abort();
    check_response(&q, 512);
    check_response(&q, 4096);
    struct in_addr a;
    dns_ptr_addr(q.name.text, &a);
  }
  /* the same bytes as a forwarded reply to cut down to 512 */
  uint8_t *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  size_t n = dns_truncate_reply(copy, size, 512);
  if (n > size || (size > 512 && n > 12 + 255 + 4)) abort(); /* cut: header and question only */
  free(copy);
  /* a name at every offset of a short input (compression pointers anywhere) */
  for (size_t off0 = 0; off0 < size && off0 < 64; off0++) {
    struct dns_name nm;
    size_t off = off0;
    if (dns_name_read(data, size, &off, &nm) == 0 && (off <= off0 || off > size || nm.wire_len == 0)) abort();
  }
  return 0;
}
