/* The daemon context: defaults, the single-instance lock, opening and closing the services
 * in dependency order, the server around them, and systemd notification. */
#include "cri/daemon.h"
#include "cri/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/proc-stat.h"
#include "common/sd-notify.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "cri/methods.h"
#include "cri/rpc-ctr-conv.h"
#include "cri/rpc-pod-conv.h"
#include "cri/server.h"
#include "image/registry-config.h"
#include "runtime/cgroup.h"
#include "sandbox/containers.h"
#include "sandbox/pods.h"

/* How long a start waits for the lock of a killed mascrid to come free. */
#define LOCK_WAIT_MS 10000

static const char *own(struct mascri_daemon *d, char *s)
{
  mascri_strv_push(&d->owned, s);
  return s;
}

static char *exe_sibling(const char *name)
{
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return xasprintf("/usr/local/bin/%s", name);
  self[n] = '\0';
  return xasprintf("%s/%s", dirname(self), name);
}

static void apply_defaults(struct mascri_daemon *d)
{
  struct mascri_daemon_config *c = &d->cfg;
  if (c->root == NULL)
    c->root = MASCRI_IMAGE_DEFAULT_ROOT;
  if (c->state == NULL)
    c->state = "/run/mascri";
  if (c->socket_path == NULL)
    c->socket_path = own(d, mascri_path_join(c->state, "mascri.sock"));
  if (c->pause_path == NULL)
    c->pause_path = own(d, exe_sibling("mascri-pause"));
  if (c->monitor_path == NULL)
    c->monitor_path = own(d, exe_sibling("mascri-monitor"));
  if (c->runtime_root == NULL)
    c->runtime_root = own(d, mascri_path_join(c->state, "oci"));
  if (c->cgroup_parent == NULL)
    c->cgroup_parent = mascri_cgroup_ops_of(c->cgroup_manager)->daemon_parent;
  if (c->net.state_dir == NULL)
    c->net.state_dir = own(d, mascri_path_join(c->root, "ipam"));
  if (c->net.cni_cache_dir == NULL)
    c->net.cni_cache_dir = own(d, mascri_path_join(c->root, "cni"));
}

/* The socket's directory: created 0700 (only root reaches the socket unless an admin
 * loosens it); an existing one is left as the admin made it, with a warning if others
 * may write to it. */
static int prepare_dirs(struct mascri_daemon *d, mascri_error_t *err)
{
  if (mascri_mkdir_p(d->cfg.root, 0700, err) < 0 || mascri_mkdir_p(d->cfg.state, 0700, err) < 0)
    return -1;
  _cleanup_free_ char *sock = xstrdup(d->cfg.socket_path);
  const char *dir = dirname(sock);
  if (mascri_mkdir_p(dir, 0700, err) < 0)
    return -1;
  struct stat st;
  if (stat(dir, &st) == 0 && (st.st_uid != 0 || (st.st_mode & 0022)) && !(st.st_mode & S_ISVTX))
    log_warning("%s is writable by others than root: the CRI socket is not protected", dir);
  return 0;
}

/* The pid a holder of the lock wrote into it ("" when none). */
static void lock_holder(int fd, char pid[32])
{
  ssize_t n = pread(fd, pid, 31, 0);
  pid[n > 0 ? n : 0] = '\0';
  pid[strcspn(pid, "\n")] = '\0';
}

/* Whether the process is gone (or a zombie not reaped yet). */
static bool process_gone(long pid)
{
  if (kill((pid_t)pid, 0) < 0)
    return errno == ESRCH;
  mascri_proc_stat_t st;
  if (mascri_proc_stat_read((pid_t)pid, &st) < 0)
    return errno == ENOENT;
  return st.state == 'Z';
}

/* A mascrid killed with SIGKILL leaves the lock held for a moment by the children it had
 * forked but that had not exec'd yet (a pod's pause being spawned): while the pid in the
 * file is gone, wait for them (bounded) instead of refusing to start. Once the lock is
 * ours, no such child is left to act on the state after the reconciliation. */
static int wait_for_dead_holder(int fd, const char *pid)
{
  char *end = NULL;
  long holder = strtol(pid, &end, 10);
  if (holder <= 0 || *end != '\0' || !process_gone(holder))
    return -1;
  log_info("the lock of mascrid %ld (gone) is still held by its children: waiting", holder);
  const struct timespec tick = {0, 5 * 1000 * 1000};
  for (int i = 0; i < LOCK_WAIT_MS / 5; i++) {
    nanosleep(&tick, NULL);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
      return 0;
  }
  return -1;
}

static int take_lock(struct mascri_daemon *d, mascri_error_t *err)
{
  _cleanup_free_ char *path = mascri_path_join(d->cfg.state, "mascrid.lock");
  _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return mascri_make_error(err, errno, "open %s", path);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK)
      return mascri_make_error(err, errno, "lock %s", path);
    char holder[32];
    lock_holder(fd, holder);
    if (wait_for_dead_holder(fd, holder) < 0)
      return mascri_make_error_kind(err, MASCRI_ERR_ALREADY_EXISTS, 0,
                                    "another mascrid (pid %s) is running with state directory "
                                    "%s (it holds %s)",
                                    holder[0] ? holder : "unknown", d->cfg.state, path);
  }
  char pid[32];
  int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
  if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
    log_warning("cannot write the pid into %s: %s", path, strerror(errno));
  d->lock_fd = TAKE_FD(fd);
  return 0;
}

static int open_registries(struct mascri_daemon *d, mascri_error_t *err)
{
  const char *path = d->cfg.registry_config;
  bool optional = path == NULL;
  if (path == NULL)
    path = mascri_registry_config_default_path();
  if (mascri_registry_config_load(path, optional, &d->registries, err) < 0)
    return mascri_error_wrap(err, "registries configuration");
  return 0;
}

static int open_network(struct mascri_daemon *d, mascri_error_t *err)
{
  _cleanup_strv_ char **live = NULL;
  if (mascri_pods_recorded_ids(d->cfg.root, &live, err) < 0)
    return mascri_error_wrap(err, "recorded pods");
  if (mascri_network_open(&d->cfg.net, (const char *const *)live, &d->net, err) < 0)
    return mascri_error_wrap(err, "network (%s)", mascri_network_mode_name(d->cfg.net.mode));
  bool ready;
  _cleanup_free_ char *reason = NULL;
  mascri_network_status(d->net, &ready, &reason);
  log_info("network: %s%s%s", mascri_network_mode_name(mascri_network_mode(d->net)),
           ready ? "" : ", not ready: ", ready ? "" : reason);
  return 0;
}

static int open_sandboxes(struct mascri_daemon *d, mascri_error_t *err)
{
  struct mascri_pods_config pc = {
      .root = d->cfg.root,
      .state = d->cfg.state,
      .pause_path = d->cfg.pause_path,
      .cgroup_parent = d->cfg.cgroup_parent,
      .cgroup_manager = d->cfg.cgroup_manager,
      .net = d->net,
      .legacy_config = mascri_pod_config_legacy,
  };
  if (mascri_pods_open(&pc, &d->pods, err) < 0)
    return mascri_error_wrap(err, "pods");
  struct mascri_containers_config cc = {
      .root = d->cfg.root,
      .state = d->cfg.state,
      .monitor_path = d->cfg.monitor_path,
      .runtime_root = d->cfg.runtime_root,
      .cgroup_manager = d->cfg.cgroup_manager,
      .default_capabilities = d->cfg.default_capabilities,
      .images = d->images,
      .pods = d->pods,
      .on_event = mascri_rpc_container_event,
      .event_data = d,
      .usage_period_ms = d->cfg.stats_period_ms,
      .legacy_config = mascri_conv_ctr_legacy_config,
  };
  if (mascri_containers_open(&cc, &d->ctrs, err) < 0)
    return mascri_error_wrap(err, "containers");
  return 0;
}

/* systemctl status shows where a slow start is (a large image store, many pods to restore). */
static void notify_status(const char *what)
{
  _cleanup_free_ char *s = xasprintf("STATUS=%s", what);
  mascri_sd_notify(s);
}

static int open_services(struct mascri_daemon *d, mascri_error_t *err)
{
  if (prepare_dirs(d, err) < 0 || take_lock(d, err) < 0)
    return -1;
  if (open_registries(d, err) < 0)
    return -1;
  notify_status("opening the image store");
  if (mascri_image_store_open(d->cfg.root, &d->images, err) < 0)
    return mascri_error_wrap(err, "image store");
  notify_status("restoring the network, pods and containers");
  if (open_network(d, err) < 0 || open_sandboxes(d, err) < 0)
    return -1;
  if (mascri_stream_server_new(&d->cfg.stream, d->ctrs, d->pods, &d->streams, err) < 0 ||
      mascri_stream_server_start(d->streams, err) < 0)
    return -1;
  struct mascri_server_config sc = {
      .socket_path = d->cfg.socket_path,
      .inherited_fd = d->cfg.inherited_fd,
      .socket_mode = 0660,
      .socket_gid = (gid_t)-1,
      .max_conns = d->cfg.max_connections,
      .idle_timeout_ms = d->cfg.idle_timeout_s * 1000u,
  };
  return mascri_server_new(&sc, mascri_cri_lookup, d, &d->server, err);
}

int mascri_daemon_open(const struct mascri_daemon_config *cfg, struct mascri_daemon **out,
                       mascri_error_t *err)
{
  struct mascri_daemon *d = xmalloc0(sizeof(*d));
  d->cfg = *cfg;
  d->lock_fd = -1;
  pthread_mutex_init(&d->publish_lock, NULL);
  apply_defaults(d);
  if (open_services(d, err) < 0) {
    mascri_daemon_close(d);
    return -1;
  }
  *out = d;
  return 0;
}

static void notify_ready(void *ctx)
{
  struct mascri_daemon *d = ctx;
  log_info("mascrid ready on %s", d->cfg.socket_path);
  mascri_sd_notify("READY=1\nSTATUS=serving the CRI"); /* no libsystemd in mascrid */
}

int mascri_daemon_run(struct mascri_daemon *d, mascri_error_t *err)
{
  int r = mascri_server_run(d->server, notify_ready, err);
  mascri_sd_notify("STOPPING=1\nSTATUS=stopped serving; closing");
  return r;
}

void mascri_daemon_close(struct mascri_daemon *d)
{
  if (d == NULL)
    return;
  /* The server first: it waits for in-flight calls, which use everything below. */
  /* Background publishers (container exits) stop seeing the server before it goes. */
  pthread_mutex_lock(&d->publish_lock);
  struct mascri_server *srv = TAKE_PTR(d->server);
  pthread_mutex_unlock(&d->publish_lock);
  if (mascri_server_free(srv) > 0) {
    log_warning("handlers still running: leaving the services open for them at exit");
    return;
  }
  /* Streams use the containers and pods: they go first. */
  mascri_stream_server_free(TAKE_PTR(d->streams));
  if (d->ctrs)
    mascri_containers_close(d->ctrs);
  if (d->pods)
    mascri_pods_close(d->pods);
  if (d->net)
    mascri_network_close(d->net);
  if (d->images)
    mascri_image_store_close(d->images);
  if (d->registries)
    mascri_registry_config_free(d->registries);
  if (d->lock_fd >= 0)
    close(d->lock_fd);
  mascri_strv_free(d->owned);
  pthread_mutex_destroy(&d->publish_lock);
  free(d);
}

void mascri_daemon_publish_event(struct mascri_daemon *d,
                                 const Runtime__V1__ContainerEventResponse *ev)
{
  pthread_mutex_lock(&d->publish_lock);
  if (d->server)
    mascri_server_publish(d->server, &ev->base);
  pthread_mutex_unlock(&d->publish_lock);
}
