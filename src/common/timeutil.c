/* timeutil.c - RFC 3339 formatting and parsing, Docker's human durations */
#include "common/timeutil.h"
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void time_format_rfc3339nano(const struct timespec *ts, char *buf, size_t size) {
  struct tm tm;
  gmtime_r(&ts->tv_sec, &tm);
  int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                   tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (n < 0 || (size_t)n >= size) return;
  if (ts->tv_nsec) {
    char frac[16];
    snprintf(frac, sizeof(frac), "%09ld", ts->tv_nsec);
    for (int i = 8; i > 0 && frac[i] == '0'; i--) frac[i] = '\0'; /* Go trims trailing zeros */
    snprintf(buf + n, size - n, ".%sZ", frac);
  } else {
    snprintf(buf + n, size - n, "Z");
  }
}

void time_now_rfc3339nano(char *buf, size_t size) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  time_format_rfc3339nano(&ts, buf, size);
}

int time_parse_rfc3339(const char *s, struct timespec *out) {
  struct tm tm = {0};
  char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return -EINVAL;
  long nsec = 0;
  if (*end == '.') {
    end++;
    int digits = 0;
    while (*end >= '0' && *end <= '9') {
      if (digits < 9) {
        nsec = nsec * 10 + (*end - '0');
        digits++;
      }
      end++;
    }
    while (digits++ < 9) nsec *= 10;
  }
  long off = 0;
  if (*end == 'Z') {
    end++;
  } else if (*end == '+' || *end == '-') {
    int sign = *end == '-' ? -1 : 1, hh, mm;
    if (sscanf(end + 1, "%2d:%2d", &hh, &mm) != 2) return -EINVAL;
    off = sign * (hh * 3600 + mm * 60);
    end += 6;
  } else {
    return -EINVAL;
  }
  if (*end) return -EINVAL;
  out->tv_sec = timegm(&tm) - off;
  out->tv_nsec = nsec;
  return 0;
}

/* Docker's units.HumanDuration wording */
void time_human_duration(int64_t s, char *buf, size_t size) {
  if (s < 1) snprintf(buf, size, "Less than a second");
  else if (s == 1) snprintf(buf, size, "1 second");
  else if (s < 60) snprintf(buf, size, "%lld seconds", (long long)s);
  else if (s / 60 == 1) snprintf(buf, size, "About a minute");
  else if (s / 60 < 60) snprintf(buf, size, "%lld minutes", (long long)(s / 60));
  else if ((s + 1800) / 3600 == 1) snprintf(buf, size, "About an hour");
  else if (s / 3600 < 48) snprintf(buf, size, "%lld hours", (long long)((s + 1800) / 3600));
  else if (s / 3600 < 24 * 7 * 2) snprintf(buf, size, "%lld days", (long long)(s / 86400));
  else if (s / 3600 < 24 * 30 * 2) snprintf(buf, size, "%lld weeks", (long long)(s / (86400 * 7)));
  else if (s / 3600 < 24 * 365 * 2) snprintf(buf, size, "%lld months", (long long)(s / (86400 * 30)));
  else snprintf(buf, size, "%lld years", (long long)(s / (86400 * 365)));
}

int64_t time_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int time_parse_go_duration(const char *s, int64_t *ns) {
  static const struct {
    const char *unit;
    double ns;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  const size_t nunits = sizeof(units) / sizeof(units[0]);
  const char *p = s;
  bool neg = *p == '-';
  if (*p == '-' || *p == '+') p++;
  if (strcmp(p, "0") == 0) return *ns = 0, 0;
  if (!*p) return -EINVAL;
  double total = 0;
  while (*p) {
    char *end;
    if (!(*p >= '0' && *p <= '9') && *p != '.') return -EINVAL;
    double v = strtod(p, &end);
    if (end == p) return -EINVAL;
    size_t best = nunits;
    for (size_t i = 0; i < nunits; i++) /* the longest unit that matches: "ms" before "m" */
      if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0 &&
          (best == nunits || strlen(units[i].unit) > strlen(units[best].unit)))
        best = i;
    if (best == nunits) return -EINVAL;
    total += v * units[best].ns;
    p = end + strlen(units[best].unit);
  }
  *ns = (int64_t)(neg ? -total : total);
  return 0;
}
