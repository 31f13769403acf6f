/* The one daemon context of mascrid: configuration and the services every RPC handler
 * reaches through it. Built in mascrid.c (daemon.c), passed as ctx to every handler; no
 * other global state. Dependencies point one way: cri/ -> sandbox/, image/, netns/,
 * runtime/ -> common/. */
#ifndef MASCRI_CRI_DAEMON_H
#define MASCRI_CRI_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "cri/stream-server.h"
#include "image/image.h"
#include "netns/network.h"
#include "runtime/runtime.h"

struct mascri_server;
struct mascri_pods;
struct mascri_containers;

struct mascri_daemon_config {
  const char *root;          /* persistent state, default /var/lib/mascri */
  const char *state;         /* volatile state, default /run/mascri */
  const char *socket_path;   /* default <state>/mascri.sock */
  int inherited_fd;          /* > 0: the listening socket systemd passed (mascri.socket) */
  const char *pause_path;    /* mascri-pause binary, default: next to mascrid */
  const char *monitor_path;  /* mascri-monitor binary, default: next to mascrid */
  const char *runtime_root;  /* runtime library state root, default <state>/oci */
  const char *cgroup_parent; /* parent of pod cgroups when the pod names none:
                                "mascri" (cgroupfs) or "mascri.slice" (systemd) */
  mascri_cgroup_manager_t cgroup_manager;
  const char *registry_config; /* mascri's registries file (mirrors, insecure, CAs) or NULL */
  /* capabilities of containers that ask for nothing else; NULL: containerd's default set */
  char *const *default_capabilities;
  unsigned stats_period_ms; /* writable layer measuring period; 0: 10 s */
  struct mascri_network_config net;
  /* gRPC connections at once (0: the server's default, 1024) and how long one may sit
   * without calls before it is closed (0: default, 300 s) */
  unsigned max_connections;
  unsigned idle_timeout_s;
  /* what one image layer may unpack to (0: the image store's defaults) */
  uint64_t max_layer_bytes, max_layer_entries;
  struct mascri_stream_server_config stream; /* Exec/Attach/PortForward streaming server */
};

struct mascri_daemon {
  struct mascri_daemon_config cfg;
  struct mascri_registry_config *registries; /* loaded registry_config (pulls use it) */
  int lock_fd;                               /* flock on <state>/mascrid.lock */
  char **owned;                              /* strings cfg's defaults point to */
  pthread_mutex_t publish_lock;              /* guards server for publishers */
  mascri_image_store_t *images;
  struct mascri_network *net; /* always open; mode NONE gives loopback-only pods */
  struct mascri_pods *pods;
  struct mascri_containers *ctrs;
  struct mascri_server *server;
  struct mascri_stream_server *streams; /* its own thread; RPCs register requests in it */
};

/* Builds the daemon from cfg (copied; NULLs take the defaults): takes the instance lock,
 * opens the image store, network, pods, containers and the server socket. Call it with
 * SIGTERM/SIGINT blocked and before any other thread starts. */
int mascri_daemon_open(const struct mascri_daemon_config *cfg, struct mascri_daemon **out,
                       mascri_error_t *err);
/* Serves until SIGTERM/SIGINT; tells systemd READY=1 / STOPPING=1 when NOTIFY_SOCKET is set. */
int mascri_daemon_run(struct mascri_daemon *d, mascri_error_t *err);
/* Stops the server (letting in-flight calls finish, bounded), closes everything and
 * removes the socket. */
void mascri_daemon_close(struct mascri_daemon *d);

/* Thread-safe: sends a container event to every GetContainerEvents stream. */
void mascri_daemon_publish_event(struct mascri_daemon *d,
                                 const Runtime__V1__ContainerEventResponse *ev);

#endif
