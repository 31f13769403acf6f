/* The OCI runtime-spec (1.2) config.json as an in-memory structure, and its parser.
 *
 * Every optional scalar has a has_<field> flag; strings and vectors are NULL when absent.
 * Parse errors are MASCRI_ERR_INVALID_ARGUMENT and name the field with its JSON path
 * ("linux.resources.memory.limit: expected an integer, got string"). */
#ifndef MASCRI_RUNTIME_SPEC_H
#define MASCRI_RUNTIME_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct mascri_spec_id_mapping {
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
} mascri_spec_id_mapping_t;

typedef struct mascri_spec_mount {
  char *destination;
  char *type; /* NULL for a bind mount without a type */
  char *source;
  char **options; /* as written in config.json */
  /* Derived from options by the parser: */
  unsigned long flags;       /* MS_* to set */
  unsigned long clear_flags; /* MS_* explicitly cleared ("rw", "suid", ...) */
  unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE [|MS_REC], 0 = none */
  char *data;                /* the options mount(2) does not know, comma-joined */
  bool bind;                 /* "bind"/"rbind" or type "bind" */
  bool recursive;            /* "rbind" */
  bool tmpcopyup;            /* crun's "tmpcopyup" */
} mascri_spec_mount_t;

typedef enum {
  MASCRI_NS_PID = 0,
  MASCRI_NS_NET,
  MASCRI_NS_IPC,
  MASCRI_NS_UTS,
  MASCRI_NS_MOUNT,
  MASCRI_NS_CGROUP,
  MASCRI_NS_USER,
  MASCRI_NS_TIME,
  MASCRI_NS_COUNT,
} mascri_ns_type_t;

typedef struct mascri_spec_namespace {
  mascri_ns_type_t type;
  char *path; /* NULL: create a new one; else join it with setns(2) */
} mascri_spec_namespace_t;

typedef struct mascri_spec_device {
  char *path;
  char type; /* 'c', 'b', 'u', 'p' */
  int64_t major, minor;
  bool has_file_mode, has_uid, has_gid;
  mode_t file_mode;
  uid_t uid;
  gid_t gid;
} mascri_spec_device_t;

typedef struct mascri_spec_rlimit {
  int resource; /* RLIMIT_* */
  uint64_t soft, hard;
} mascri_spec_rlimit_t;

/* Capability sets as bit masks (bit n = capability n). Names the kernel and libcap do
 * not know are skipped with a warning, like runc does. */
typedef struct mascri_spec_caps {
  uint64_t bounding, effective, inheritable, permitted, ambient;
} mascri_spec_caps_t;

typedef struct mascri_spec_user {
  uid_t uid;
  gid_t gid;
  bool has_umask;
  mode_t umask;
  gid_t *additional_gids;
  size_t n_additional_gids;
  char *username; /* for exec --user name lookups; unused by create */
} mascri_spec_user_t;

typedef struct mascri_spec_process {
  bool terminal;
  unsigned console_height, console_width;
  mascri_spec_user_t user;
  char **args;
  char **env;
  char *cwd;
  bool has_caps;
  mascri_spec_caps_t caps;
  mascri_spec_rlimit_t *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  char *apparmor_profile;
  char *selinux_label;
  bool has_oom_score_adj;
  int oom_score_adj;
} mascri_spec_process_t;

typedef struct mascri_spec_hook {
  char *path;
  char **args;
  char **env;
  int timeout; /* seconds, 0 = none */
} mascri_spec_hook_t;

typedef enum {
  MASCRI_HOOK_PRESTART = 0,
  MASCRI_HOOK_CREATE_RUNTIME,
  MASCRI_HOOK_CREATE_CONTAINER,
  MASCRI_HOOK_START_CONTAINER,
  MASCRI_HOOK_POSTSTART,
  MASCRI_HOOK_POSTSTOP,
  MASCRI_HOOK_KIND_COUNT,
} mascri_hook_kind_t;

typedef struct mascri_spec_hook_list {
  mascri_spec_hook_t *hooks;
  size_t n;
} mascri_spec_hook_list_t;

typedef struct mascri_spec_device_rule {
  bool allow;
  char type;            /* 'a', 'c', 'b' */
  int64_t major, minor; /* -1 = wildcard */
  char *access;         /* "rwm" subset, NULL = all */
} mascri_spec_device_rule_t;

typedef struct mascri_spec_weight_device {
  int64_t major, minor;
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
} mascri_spec_weight_device_t;

typedef struct mascri_spec_throttle_device {
  int64_t major, minor;
  uint64_t rate;
} mascri_spec_throttle_device_t;

typedef struct mascri_spec_hugepage_limit {
  char *page_size; /* "2MB", "1GB" */
  uint64_t limit;
} mascri_spec_hugepage_limit_t;

/* linux.resources. Absent values are not touched. */
typedef struct mascri_spec_resources {
  mascri_spec_device_rule_t *devices;
  size_t n_devices;

  struct {
    bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp, has_swappiness;
    int64_t limit, reservation, swap, kernel, kernel_tcp;
    uint64_t swappiness;
    bool has_disable_oom_killer, disable_oom_killer;
    bool has_use_hierarchy, use_hierarchy;
  } memory;

  struct {
    bool has_shares, has_quota, has_burst, has_period, has_rt_runtime, has_rt_period, has_idle;
    uint64_t shares, period, rt_period, burst;
    int64_t quota, rt_runtime, idle;
    char *cpus, *mems;
  } cpu;

  struct {
    bool has_limit;
    int64_t limit; /* <= 0: unlimited */
  } pids;

  struct {
    bool has_weight, has_leaf_weight;
    uint16_t weight, leaf_weight;
    mascri_spec_weight_device_t *weight_devices;
    size_t n_weight_devices;
    mascri_spec_throttle_device_t *throttle[4]; /* read bps, write bps, read iops, write iops */
    size_t n_throttle[4];
  } blkio;

  mascri_spec_hugepage_limit_t *hugepage_limits;
  size_t n_hugepage_limits;

  struct {
    bool has_class_id;
    uint32_t class_id;
  } network;

  /* cgroup v2 files: unified_keys[i] = unified_values[i] */
  char **unified_keys;
  char **unified_values;
} mascri_spec_resources_t;

typedef enum {
  MASCRI_SECCOMP_KILL = 0, /* SCMP_ACT_KILL (thread) */
  MASCRI_SECCOMP_KILL_PROCESS,
  MASCRI_SECCOMP_KILL_THREAD,
  MASCRI_SECCOMP_TRAP,
  MASCRI_SECCOMP_ERRNO,
  MASCRI_SECCOMP_TRACE,
  MASCRI_SECCOMP_ALLOW,
  MASCRI_SECCOMP_LOG,
  MASCRI_SECCOMP_NOTIFY,
} mascri_seccomp_action_t;

typedef enum {
  MASCRI_SECCOMP_OP_NE = 0,
  MASCRI_SECCOMP_OP_LT,
  MASCRI_SECCOMP_OP_LE,
  MASCRI_SECCOMP_OP_EQ,
  MASCRI_SECCOMP_OP_GE,
  MASCRI_SECCOMP_OP_GT,
  MASCRI_SECCOMP_OP_MASKED_EQ,
} mascri_seccomp_op_t;

typedef struct mascri_spec_seccomp_arg {
  unsigned index;
  uint64_t value, value_two;
  mascri_seccomp_op_t op;
} mascri_spec_seccomp_arg_t;

typedef struct mascri_spec_seccomp_rule {
  char **names;
  mascri_seccomp_action_t action;
  bool has_errno_ret;
  uint32_t errno_ret;
  mascri_spec_seccomp_arg_t *args;
  size_t n_args;
} mascri_spec_seccomp_rule_t;

typedef struct mascri_spec_seccomp {
  mascri_seccomp_action_t default_action;
  bool has_default_errno_ret;
  uint32_t default_errno_ret;
  char **architectures; /* "SCMP_ARCH_X86_64", ... */
  char **flags;         /* "SECCOMP_FILTER_FLAG_LOG", ... */
  mascri_spec_seccomp_rule_t *rules;
  size_t n_rules;
} mascri_spec_seccomp_t;

typedef struct mascri_spec_linux {
  mascri_spec_id_mapping_t *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  char **sysctl_keys, **sysctl_values;
  mascri_spec_resources_t *resources; /* NULL when absent */
  char *cgroups_path;
  mascri_spec_namespace_t *namespaces;
  size_t n_namespaces;
  mascri_spec_device_t *devices;
  size_t n_devices;
  mascri_spec_seccomp_t *seccomp;   /* NULL when absent */
  unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 = default (rprivate) */
  char **masked_paths;
  char **readonly_paths;
  char *mount_label;
  /* linux.timeOffsets (for a new time namespace): per clock, seconds and nanoseconds. */
  bool has_time_offsets;
  int64_t monotonic_secs, boottime_secs;
  uint32_t monotonic_nsecs, boottime_nsecs;
} mascri_spec_linux_t;

typedef struct mascri_spec {
  char *oci_version;
  mascri_spec_process_t *process; /* NULL when absent (allowed for create, not for start) */
  char *root_path;
  bool root_readonly;
  char *hostname;
  char *domainname;
  mascri_spec_mount_t *mounts;
  size_t n_mounts;
  mascri_spec_hook_list_t hooks[MASCRI_HOOK_KIND_COUNT];
  char **annotation_keys, **annotation_values;
  mascri_spec_linux_t *linux_; /* NULL when absent */
  char *raw;                   /* the JSON text the spec was parsed from */
  size_t raw_len;
} mascri_spec_t;

/* Parses config.json text; *out must be freed with mascri_spec_free. */
int mascri_spec_parse(const char *json, size_t len, mascri_spec_t **out, mascri_error_t *err);
/* Reads and parses a file (usually <bundle>/config.json). */
int mascri_spec_load_file(const char *path, mascri_spec_t **out, mascri_error_t *err);
void mascri_spec_free(mascri_spec_t *spec);

/* Parses one "process" object (exec --process file) the same way config.json's is. */
int mascri_spec_process_parse(const char *json, size_t len, mascri_spec_process_t **out,
                              mascri_error_t *err);
void mascri_spec_process_free(mascri_spec_process_t *p);
mascri_spec_process_t *mascri_spec_process_dup(const mascri_spec_process_t *p);

/* Parses a linux.resources object (update -r file). */
int mascri_spec_resources_parse(const char *json, size_t len, mascri_spec_resources_t **out,
                                mascri_error_t *err);
void mascri_spec_resources_free(mascri_spec_resources_t *r);

/* The namespace entry of a type, or NULL when the spec does not list it. */
const mascri_spec_namespace_t *mascri_spec_find_namespace(const mascri_spec_t *spec,
                                                          mascri_ns_type_t type);
const char *mascri_ns_type_name(mascri_ns_type_t type); /* "pid", "network", ... */
int mascri_ns_clone_flag(mascri_ns_type_t type);        /* CLONE_NEWPID, ... */
/* The annotation value for key, or NULL. */
const char *mascri_spec_annotation(const mascri_spec_t *spec, const char *key);

/* The default config.json `mascri spec` writes (like `runc spec`); rootless picks
 * user-namespace mappings for the calling user. Returns a new string. */
char *mascri_spec_default_json(bool rootless);

static inline void cleanup_specp(mascri_spec_t **s)
{
  mascri_spec_free(*s);
}
#define _cleanup_spec_ _cleanup_(cleanup_specp)
static inline void cleanup_spec_processp(mascri_spec_process_t **p)
{
  mascri_spec_process_free(*p);
}
#define _cleanup_spec_process_ _cleanup_(cleanup_spec_processp)
static inline void cleanup_spec_resourcesp(mascri_spec_resources_t **r)
{
  mascri_spec_resources_free(*r);
}
#define _cleanup_spec_resources_ _cleanup_(cleanup_spec_resourcesp)

#endif
