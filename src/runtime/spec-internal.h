/* Typed field readers for the config.json parser: each names the field with its JSON
 * path in errors ("process.user.uid: expected an integer, got string"). */
#ifndef MASCRI_RUNTIME_SPEC_INTERNAL_H
#define MASCRI_RUNTIME_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json.h"
#include "runtime/spec.h"

/* Error for a field: "<where>.<key>: <message>". Returns -EINVAL. */
int spec_field_error(mascri_error_t *err, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 0 when v is NULL or an object, else an error naming where. */
int spec_check_object(yajl_val v, const char *where, mascri_error_t *err);
int spec_check_array(yajl_val v, const char *where, mascri_error_t *err);

/* Readers: 1 when the key was present and read, 0 when absent, < 0 on a type error. */
int spec_get_string(yajl_val obj, const char *where, const char *key, char **out,
                    mascri_error_t *err);
int spec_get_strv(yajl_val obj, const char *where, const char *key, char ***out,
                  mascri_error_t *err);
int spec_get_bool(yajl_val obj, const char *where, const char *key, bool *out, mascri_error_t *err);
int spec_get_i64(yajl_val obj, const char *where, const char *key, int64_t *out,
                 mascri_error_t *err);
int spec_get_u64(yajl_val obj, const char *where, const char *key, uint64_t *out,
                 mascri_error_t *err);
/* u64 bounded by max. */
int spec_get_uint(yajl_val obj, const char *where, const char *key, uint64_t max, uint64_t *out,
                  mascri_error_t *err);
/* Copies an object of strings into parallel NULL-terminated key/value vectors. */
int spec_get_string_map(yajl_val obj, const char *where, const char *key, char ***keys,
                        char ***values, mascri_error_t *err);
/* A string that must be present. */
int spec_require_string(yajl_val obj, const char *where, const char *key, char **out,
                        mascri_error_t *err);

int spec_parse_process(yajl_val v, const char *where, mascri_spec_process_t *p,
                       mascri_error_t *err);
void spec_process_clear(mascri_spec_process_t *p);
int spec_parse_linux(yajl_val v, mascri_spec_linux_t *l, mascri_error_t *err);
void spec_linux_clear(mascri_spec_linux_t *l);
int spec_parse_resources(yajl_val v, const char *where, mascri_spec_resources_t *r,
                         mascri_error_t *err);
void spec_resources_clear(mascri_spec_resources_t *r);
/* where names the object in errors ("linux.seccomp" in a config.json). */
int spec_parse_seccomp(yajl_val v, const char *where, mascri_spec_seccomp_t *s,
                       mascri_error_t *err);
void spec_seccomp_clear(mascri_spec_seccomp_t *s);
/* Parses a mount's options into flags, propagation and data. */
/* MS_* propagation of "rshared" etc.; -1 when unknown. */
int spec_parse_propagation(const char *name, unsigned long *out);
int spec_ns_type_from_name(const char *name);
int spec_parse_mount_options(mascri_spec_mount_t *m, const char *where, mascri_error_t *err);

#endif
