/* signals.c - signal names and numbers as kill(1), runc and Docker accept them */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "common/xalloc.h"
#include "common/signals.h"

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL},   {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* "RTMIN", "RTMIN+3", "RTMAX-2" */
static int parse_rt(const char *s) {
  int base;
  if (strncasecmp(s, "RTMIN", 5) == 0) base = SIGRTMIN;
  else if (strncasecmp(s, "RTMAX", 5) == 0) base = SIGRTMAX;
  else return -EINVAL;
  s += 5;
  if (!*s) return base;
  if ((*s != '+' && *s != '-') || !isdigit((unsigned char)s[1])) return -EINVAL;
  char *end;
  long off = strtol(s, &end, 10);
  if (*end || base + off < SIGRTMIN || base + off > SIGRTMAX) return -EINVAL;
  return (int)(base + off);
}

int signal_parse(const char *s) {
  if (!s || !*s) return -EINVAL;
  if (isdigit((unsigned char)s[0])) {
    char *end;
    long n = strtol(s, &end, 10);
    if (*end || n <= 0 || n > SIGRTMAX) return -EINVAL;
    return (int)n;
  }
  if (strncasecmp(s, "SIG", 3) == 0) s += 3;
  for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
    if (strcasecmp(s, signals[i].name) == 0) return signals[i].sig;
  return parse_rt(s);
}
