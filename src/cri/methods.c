/* The method table: every runtime.v1 RuntimeService and ImageService method, its input
 * type, handler and flags. Every handler named here must exist (a misspelled or missing
 * one is a link error); a method mascri does not offer is a NONE entry with no handler,
 * which the server answers UNIMPLEMENTED with the reason given. */
#include "cri/methods.h"

#include <string.h>

#include "api.pb-c.h"
#include "cri/rpc.h"

#define RT "/runtime.v1.RuntimeService/"
#define IMG "/runtime.v1.ImageService/"
#define FAST MASCRI_RPC_FAST

/* A method with a handler. */
#define M(svc, Name, input, fn, flags)                                                             \
  {                                                                                                \
    svc #Name, &runtime__v1__##input##__descriptor, fn, flags, NULL                                \
  }
/* A method mascri does not offer, with the reason. */
#define NONE(svc, Name, input, why)                                                                \
  {                                                                                                \
    svc #Name, &runtime__v1__##input##__descriptor, NULL, FAST,                                    \
        "mascri does not implement " #Name ": " why                                                \
  }

static const struct mascri_rpc_method methods[] = {
    M(RT, Version, version_request, mascri_rpc_version, FAST),
    M(RT, RunPodSandbox, run_pod_sandbox_request, mascri_rpc_run_pod_sandbox, 0),
    M(RT, StopPodSandbox, stop_pod_sandbox_request, mascri_rpc_stop_pod_sandbox, 0),
    M(RT, RemovePodSandbox, remove_pod_sandbox_request, mascri_rpc_remove_pod_sandbox, 0),
    M(RT, PodSandboxStatus, pod_sandbox_status_request, mascri_rpc_pod_sandbox_status, FAST),
    M(RT, ListPodSandbox, list_pod_sandbox_request, mascri_rpc_list_pod_sandbox, FAST),
    M(RT, CreateContainer, create_container_request, mascri_rpc_create_container, 0),
    M(RT, StartContainer, start_container_request, mascri_rpc_start_container, 0),
    M(RT, StopContainer, stop_container_request, mascri_rpc_stop_container, 0),
    M(RT, RemoveContainer, remove_container_request, mascri_rpc_remove_container, 0),
    M(RT, ListContainers, list_containers_request, mascri_rpc_list_containers, FAST),
    M(RT, ContainerStatus, container_status_request, mascri_rpc_container_status, FAST),
    M(RT, UpdateContainerResources, update_container_resources_request,
      mascri_rpc_update_container_resources, 0),
    M(RT, ReopenContainerLog, reopen_container_log_request, mascri_rpc_reopen_container_log, 0),
    M(RT, ExecSync, exec_sync_request, mascri_rpc_exec_sync, 0),
    M(RT, Exec, exec_request, mascri_rpc_exec, FAST),
    M(RT, Attach, attach_request, mascri_rpc_attach, FAST),
    M(RT, PortForward, port_forward_request, mascri_rpc_port_forward, FAST),
    M(RT, ContainerStats, container_stats_request, mascri_rpc_container_stats, 0),
    M(RT, ListContainerStats, list_container_stats_request, mascri_rpc_list_container_stats, 0),
    M(RT, PodSandboxStats, pod_sandbox_stats_request, mascri_rpc_pod_sandbox_stats, 0),
    M(RT, ListPodSandboxStats, list_pod_sandbox_stats_request, mascri_rpc_list_pod_sandbox_stats,
      0),
    M(RT, UpdateRuntimeConfig, update_runtime_config_request, mascri_rpc_update_runtime_config, 0),
    M(RT, Status, status_request, mascri_rpc_status, FAST),
    NONE(RT, CheckpointContainer, checkpoint_container_request,
         "container checkpoint/restore (CRIU) is not supported"),
    {RT "GetContainerEvents", &runtime__v1__get_events_request__descriptor, NULL, MASCRI_RPC_STREAM,
     NULL},
    NONE(RT, ListMetricDescriptors, list_metric_descriptors_request,
         "CRI-provided metrics are not supported; use the stats calls"),
    NONE(RT, ListPodSandboxMetrics, list_pod_sandbox_metrics_request,
         "CRI-provided metrics are not supported; use the stats calls"),
    M(RT, RuntimeConfig, runtime_config_request, mascri_rpc_runtime_config, FAST),
    NONE(RT, UpdatePodSandboxResources, update_pod_sandbox_resources_request,
         "pod-level resource updates are not supported"),
    M(IMG, ListImages, list_images_request, mascri_rpc_list_images, FAST),
    M(IMG, ImageStatus, image_status_request, mascri_rpc_image_status, FAST),
    M(IMG, PullImage, pull_image_request, mascri_rpc_pull_image, 0),
    M(IMG, RemoveImage, remove_image_request, mascri_rpc_remove_image, 0),
    M(IMG, ImageFsInfo, image_fs_info_request, mascri_rpc_image_fs_info, FAST),
};

const struct mascri_rpc_method *mascri_cri_lookup(void *ctx, const char *path)
{
  (void)ctx;
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    if (strcmp(methods[i].path, path) == 0)
      return &methods[i];
  return NULL;
}

const struct mascri_rpc_method *mascri_cri_methods(size_t *n)
{
  *n = sizeof(methods) / sizeof(methods[0]);
  return methods;
}
