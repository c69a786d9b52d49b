/* health.h - container health checks (ctr_health.c): Docker's HEALTHCHECK state machine as pure
 * functions, and the daemon's one scheduler thread that runs the probes as execs */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"

struct daemon;
struct store_container;

/* Docker's defaults and bounds (moby container/health.go, daemon/health.go) */
#define HEALTH_DEFAULT_INTERVAL_NS (30 * INT64_C(1000000000))
#define HEALTH_DEFAULT_TIMEOUT_NS (30 * INT64_C(1000000000))
#define HEALTH_DEFAULT_RETRIES 3
#define HEALTH_MIN_DURATION_NS INT64_C(1000000) /* 1 ms */
#define HEALTH_LOG_MAX 5
#define HEALTH_OUTPUT_MAX 4096

enum health_status { HEALTH_NONE, HEALTH_STARTING, HEALTH_HEALTHY, HEALTH_UNHEALTHY };

/* the probe of one container, from Config.Healthcheck with the defaults applied */
struct health_config {
  char **argv; /* what to exec: ["/bin/sh", "-c", CMD] or CMD's args; NULL: no health check */
  int64_t interval_ns, timeout_ns, start_period_ns;
  int retries;
};

struct health_result {
  int64_t start_ns, end_ns; /* wall clock */
  int exit_code;            /* 0 healthy, else a failure; -1 for a timeout or a probe that did not run */
  char *output;             /* stdout and stderr, at most HEALTH_OUTPUT_MAX bytes (heap) */
};

struct health_state {
  enum health_status status;
  int failing_streak;
  int nlog;
  struct health_result log[HEALTH_LOG_MAX]; /* oldest first */
};

/* ---------- pure (unit-tested) ---------- */

/* health_config_check: create-time validation of Config.Healthcheck (Docker's 400 messages) */
int health_config_check(const json_t *hc, struct berth_error **err);
/* health_config_merge: Docker's merge of the container's Healthcheck over the image's: no container
 * check takes the image's; an empty Test and zero durations/retries are taken from the image.
 * Returns a new reference, or NULL when neither has one. */
json_t *health_config_merge(const json_t *user, const json_t *image);
/* health_config_parse: Config.Healthcheck (may be NULL) into *out; out->argv NULL for none, NONE
 * or an unknown test type */
void health_config_parse(const json_t *hc, struct health_config *out);
void health_config_clear(struct health_config *c);
/* health_apply: record one probe result (its output is taken); true when the status changed */
bool health_apply(struct health_state *s, const struct health_config *c, int64_t started_ns,
                  struct health_result *r);
void health_state_clear(struct health_state *s);
/* health_state_json: State.Health as inspect shows it; health_state_load reads it back */
json_t *health_state_json(const struct health_state *s);
void health_state_load(const json_t *j, struct health_state *s);
/* health_status_name: "starting", "healthy", "unhealthy", "none" */
const char *health_status_name(enum health_status st);
/* health_go_duration: Go's time.Duration.String() ("30s", "1m30s", "500ms") */
void health_go_duration(int64_t ns, char *buf, size_t size);

/* ---------- the daemon side ---------- */

/* health_open/health_close: the scheduler thread (monitor_start/monitor_stop run them) */
int health_open(struct daemon *d, struct berth_error **err);
void health_close(struct daemon *d);
/* health_restore: startup: the saved State.Health of c (kept as it was for a running container) */
void health_restore(struct daemon *d, const struct store_container *c);
/* health_ctr_started / health_ctr_stopped: probing starts (status "starting") / stops */
void health_ctr_started(struct daemon *d, const char *id);
void health_ctr_stopped(struct daemon *d, const char *id);
/* health_forget: the container is removed */
void health_forget(struct daemon *d, const char *id);
/* health_inspect_json: State.Health of id, or NULL when it has none */
json_t *health_inspect_json(struct daemon *d, const char *id);
/* health_status_of: the container's health status (HEALTH_NONE without a health check) */
enum health_status health_status_of(struct daemon *d, const char *id);
