/* The container init's side of create: runs in the cloned child, from namespaces to exec. */
#ifndef MASCRI_RUNTIME_CHILD_H
#define MASCRI_RUNTIME_CHILD_H

#include <stdbool.h>

#include "runtime/cgroup.h"
#include "runtime/mount-template.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

typedef struct child_args {
  const mascri_spec_t *spec;
  const mascri_create_options_t *opts;
  const char *rootfs; /* absolute */
  const char *bundle; /* absolute */
  int sync_fd;
  int fifo_fd;                 /* O_PATH fd of exec.fifo, -1 without wait_start */
  int ns_fds[MASCRI_NS_COUNT]; /* namespaces to join (setns), -1 = none */
  int unshare_flags;           /* namespaces to create after the GO message */
  bool joined_mntns;           /* set once the mount namespace of ns_fds was joined */
  int proc_fd;                 /* the host's /proc when chrooted without a mount ns, else -1 */
  bool userns;                 /* in a user namespace (new or joined) */
  const mascri_cgroup_layout_t *layout;
  const char *cgroup_path;
  pid_t host_pid;      /* our pid in the runtime's pid namespace (sent with GO) */
  mount_trees_t trees; /* taken before joining opts->mount_template (mount-template.h) */
} child_args_t;

/* Never returns: execs the process or exits after sending the error. */
_Noreturn void child_main(child_args_t *a);

#endif
