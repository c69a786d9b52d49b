/* strv.h - NULL-terminated string vectors */
#pragma once
#include <stddef.h>

size_t strv_len(char *const *v);
/* strv_push: append a copy of s; returns the new vector */
char **strv_push(char **v, const char *s);
char **strv_push_take(char **v, char *s);
void strv_free(char **v);
static inline void cleanup_strvp(char ***v) { strv_free(*v); }
#define _cleanup_strv_ __attribute__((cleanup(cleanup_strvp)))
