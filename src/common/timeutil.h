/* timeutil.h - wall-clock times in Docker's formats */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "2006-01-02T15:04:05.999999999Z" (RFC 3339 with nanoseconds, UTC); buf >= 40 bytes */
void time_format_rfc3339nano(const struct timespec *ts, char *buf, size_t size);
void time_now_rfc3339nano(char *buf, size_t size);
/* time_parse_rfc3339: parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)"; 0 or -EINVAL */
int time_parse_rfc3339(const char *s, struct timespec *out);
/* "0001-01-01T00:00:00Z", Go's zero time, which Docker prints for times that never happened */
#define TIME_ZERO_RFC3339 "0001-01-01T00:00:00Z"
/* time_human_duration: "Less than a second", "3 seconds", "About a minute", "2 hours" ... like Docker */
void time_human_duration(int64_t seconds, char *buf, size_t size);
int64_t time_now_ns(void);
/* time_parse_go_duration: Go's time.ParseDuration ("1m30s", "500ms", "-2h", "0"), the type of
 * docker's duration flags and of relative since/until values; 0 or -EINVAL */
int time_parse_go_duration(const char *s, int64_t *ns);
