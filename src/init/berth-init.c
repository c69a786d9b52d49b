/* berth-init.c - PID 1 for `run --init`: runs the command, forwards signals to it, reaps zombies and
 * exits with the command's status (128+signal when it was killed); libc only, static-friendly */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* signals never forwarded: those the kernel raises for a fault in this process, the two that
 * cannot be caught, and SIGCHLD, which is how we learn of exits */
static int forwarded(int sig) {
  return sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD && sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE &&
         sig != SIGILL && sig != SIGABRT && sig != SIGTRAP && sig != SIGSYS;
}

static void usage(void) {
  fprintf(stderr, "usage: berth-init [--] COMMAND [ARG...]\n"
                  "Runs COMMAND as the child of a minimal init: signals are forwarded to it, zombies are\n"
                  "reaped, and the exit status is the command's (128+N when killed by signal N).\n");
}

/* spawn: the command in a process group of its own (the terminal's foreground one when there is
 * a terminal, so ^C reaches it), with the signal mask it would have had without us */
static pid_t spawn(char **argv, const sigset_t *orig) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);
  if (isatty(STDIN_FILENO)) {
    signal(SIGTTOU, SIG_IGN); /* tcsetpgrp from a background group would stop us */
    tcsetpgrp(STDIN_FILENO, getpgrp());
    signal(SIGTTOU, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, orig, NULL);
  execvp(argv[0], argv);
  fprintf(stderr, "berth-init: exec %s: %s\n", argv[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

/* reap: every exited child; returns the exit code once the command itself is among them */
static int reap(pid_t child) {
  int code = -1, status;
  pid_t p;
  while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
    if (p != child) continue;
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return code;
}

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc || strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
    usage();
    return first >= argc ? 1 : 0;
  }
  /* outside PID 1 (tests, nested use) orphans still come to us */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t all, orig;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &orig);
  pid_t child = spawn(argv + first, &orig);
  if (child < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 1;
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int code = reap(child);
      if (code >= 0) return code;
    } else if (forwarded(sig)) {
      kill(child, sig);
    }
  }
}
