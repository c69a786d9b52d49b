/* log.c - leveled log lines "time level tag: message" to stderr or a file */
#include "common/log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level cur_level = LOG_LVL_INFO;
static int log_fd = 2;

int log_setup(enum log_level level, const char *path) {
  cur_level = level;
  if (path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return -errno;
    if (log_fd > 2) close(log_fd);
    log_fd = fd;
  }
  return 0;
}

int log_parse_level(const char *s) {
  static const struct { const char *name; int lvl; } t[] = {
      {"debug", LOG_LVL_DEBUG}, {"info", LOG_LVL_INFO}, {"warn", LOG_LVL_WARN},
      {"warning", LOG_LVL_WARN}, {"error", LOG_LVL_ERROR}, {"fatal", LOG_LVL_ERROR}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (strcmp(s, t[i].name) == 0) return t[i].lvl;
  return -1;
}

enum log_level log_get_level(void) { return cur_level; }

void log_msg(enum log_level lvl, const char *tag, const char *fmt, ...) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  char line[2048];
  struct timespec ts;
  struct tm tm;
  va_list ap;
  int n, saved = errno;
  if (lvl > cur_level) return;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
               names[lvl], tag);
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof(line) - 2) n = sizeof(line) - 2;
  line[n++] = '\n';
  (void)!write(log_fd, line, n);
  errno = saved;
}
