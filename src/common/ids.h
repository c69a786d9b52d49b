/* ids.h - container/object ids (64 hex chars) and generated names (adjective_surname) */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define BERTH_ID_LEN 64
#define BERTH_SHORT_ID_LEN 12

/* id_random: 64 lowercase hex chars from getrandom(), NUL-terminated in out[65] */
void id_random(char out[BERTH_ID_LEN + 1]);
/* id_is_hex: s is n (or, with n == 0, any length >= 1) lowercase hex digits */
bool id_is_hex(const char *s, size_t n);
/* name_random: "adjective_surname"; with retry > 0 a digit suffix is added like Docker's */
void name_random(char *out, size_t size, int retry);
/* name_is_valid: Docker's container name rule [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' allowed) */
bool name_is_valid(const char *name);
