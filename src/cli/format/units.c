/* units.c - docker's go-units size and duration wordings */
#include <stdio.h>
#include "cli/format/format.h"
#include "common/timeutil.h"

static void custom_size(double size, int precision, double base, const char *const *units, size_t nunits, char *out,
                        size_t n) {
  size_t i = 0;
  while (size >= base && i < nunits - 1) {
    size /= base;
    i++;
  }
  snprintf(out, n, "%.*g%s", precision, size, units[i]);
}

void fmt_human_size(double size, int precision, char *out, size_t n) {
  static const char *const dec[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  custom_size(size, precision, 1000.0, dec, sizeof(dec) / sizeof(dec[0]), out, n);
}

void fmt_bytes_size(double size, char *out, size_t n) {
  static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  custom_size(size, 4, 1024.0, bin, sizeof(bin) / sizeof(bin[0]), out, n);
}

void fmt_ago(int64_t then, int64_t now, char *out, size_t n) {
  char d[64];
  time_human_duration(now - then, d, sizeof(d));
  snprintf(out, n, "%s ago", d);
}
