/* ctr_state.c - in-memory per-container state (shim pidfd, waiters, pending attaches), a hash map
 * whose lock is held only for lookups; each entry has its own mutex and condition */
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <string.h>

#define BUCKETS 256

struct entry {
  struct entry *next;
  struct ctr_state st;
};

struct ctr_table {
  pthread_mutex_t mu;
  struct entry *b[BUCKETS];
};

static unsigned bucket(const char *id) {
  unsigned h = 2166136261u;
  for (; *id; id++) h = (h ^ (unsigned char)*id) * 16777619u;
  return h % BUCKETS;
}

struct ctr_table *ctr_table_new(void) {
  struct ctr_table *t = xcalloc(1, sizeof(*t));
  pthread_mutex_init(&t->mu, NULL);
  return t;
}

static void entry_free(struct entry *e) {
  pthread_mutex_destroy(&e->st.mu);
  pthread_cond_destroy(&e->st.cond);
  if (e->st.shim_pidfd >= 0) close(e->st.shim_pidfd);
  if (e->st.init_pidfd >= 0) close(e->st.init_pidfd);
  free(e);
}

void ctr_table_free(struct ctr_table *t) {
  if (!t) return;
  for (int i = 0; i < BUCKETS; i++) {
    for (struct entry *e = t->b[i], *n; e; e = n) {
      n = e->next;
      entry_free(e);
    }
  }
  pthread_mutex_destroy(&t->mu);
  free(t);
}

struct ctr_state *ctr_state_get(struct ctr_table *t, const char *id) {
  unsigned h = bucket(id);
  pthread_mutex_lock(&t->mu);
  struct entry *e = t->b[h];
  while (e && strcmp(e->st.id, id) != 0) e = e->next;
  if (!e) {
    e = xcalloc(1, sizeof(*e));
    snprintf(e->st.id, sizeof(e->st.id), "%s", id);
    pthread_mutex_init(&e->st.mu, NULL);
    /* CLOCK_MONOTONIC: stop timeouts must not jump with the wall clock */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->st.cond, &ca);
    pthread_condattr_destroy(&ca);
    e->st.shim_pidfd = e->st.init_pidfd = -1;
    e->next = t->b[h];
    t->b[h] = e;
  }
  e->st.refs++;
  pthread_mutex_unlock(&t->mu);
  return &e->st;
}

void ctr_state_put(struct ctr_table *t, struct ctr_state *s) {
  if (!s) return;
  unsigned h = bucket(s->id);
  struct entry *victim = NULL;
  pthread_mutex_lock(&t->mu);
  /* an entry is dropped when nobody holds it and it carries nothing worth keeping */
  if (--s->refs == 0) {
    pthread_mutex_lock(&s->mu);
    bool idle = !s->running && !s->busy && !s->waiters && s->shim_pidfd < 0;
    pthread_mutex_unlock(&s->mu);
    if (idle) {
      for (struct entry **pp = &t->b[h]; *pp; pp = &(*pp)->next) {
        if (&(*pp)->st == s) {
          victim = *pp;
          *pp = victim->next;
          break;
        }
      }
    }
  }
  pthread_mutex_unlock(&t->mu);
  if (victim) entry_free(victim);
}

void ctr_table_wake_all(struct ctr_table *t) {
  pthread_mutex_lock(&t->mu);
  for (int i = 0; i < BUCKETS; i++) {
    for (struct entry *e = t->b[i]; e; e = e->next) {
      pthread_mutex_lock(&e->st.mu);
      pthread_cond_broadcast(&e->st.cond);
      pthread_mutex_unlock(&e->st.mu);
    }
  }
  pthread_mutex_unlock(&t->mu);
}

void ctr_lifecycle_begin(struct ctr_state *s) {
  pthread_mutex_lock(&s->mu);
  while (s->busy) pthread_cond_wait(&s->cond, &s->mu);
  s->busy = true;
  pthread_mutex_unlock(&s->mu);
}

void ctr_lifecycle_end(struct ctr_state *s) {
  pthread_mutex_lock(&s->mu);
  s->busy = false;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->mu);
}
