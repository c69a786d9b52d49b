/* log.h - one logger: levels, a per-module tag, stderr or a file sink */
#pragma once

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* log_setup: level and sink (NULL path = stderr); returns 0 or -errno */
int log_setup(enum log_level level, const char *path);
/* log_parse_level: "debug|info|warn|error|fatal" -> level; -1 if unknown */
int log_parse_level(const char *s);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifndef LOG_TAG
#define LOG_TAG "berth"
#endif
#define log_error(...) log_msg(LOG_LVL_ERROR, LOG_TAG, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, LOG_TAG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, LOG_TAG, __VA_ARGS__)
#define log_debug(...)                                                        \
  do {                                                                        \
    if (log_get_level() >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, LOG_TAG, __VA_ARGS__); \
  } while (0)
