/* The RPC handlers behind the method table (methods.c). Each has the mascri_rpc_fn shape
 * of server.h: ctx is the struct mascri_daemon, req the unpacked request of the method's
 * input type, *resp a response the handler builds ENTIRELY ON THE HEAP (the message
 * struct, every string, array and sub-message malloc'ed; default empty strings may stay)
 * because the server frees it with protobuf_c_message_free_unpacked(resp, NULL).
 * On failure: return < 0 with err set; its kind becomes the gRPC status (grpc.c). */
#ifndef MASCRI_CRI_RPC_H
#define MASCRI_CRI_RPC_H

#include "cri/server.h"
#include "sandbox/containers.h"

#define MASCRI_RPC(name)                                                                           \
  int mascri_rpc_##name(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,           \
                        const volatile int *cancel, mascri_error_t *err)

/* rpc-runtime.c */
MASCRI_RPC(version);
MASCRI_RPC(status);
MASCRI_RPC(runtime_config);
MASCRI_RPC(update_runtime_config);
/* rpc-image.c */
MASCRI_RPC(list_images);
MASCRI_RPC(image_status);
MASCRI_RPC(pull_image);
MASCRI_RPC(remove_image);
MASCRI_RPC(image_fs_info);
/* rpc-pod.c */
MASCRI_RPC(run_pod_sandbox);
MASCRI_RPC(stop_pod_sandbox);
MASCRI_RPC(remove_pod_sandbox);
MASCRI_RPC(pod_sandbox_status);
MASCRI_RPC(list_pod_sandbox);
MASCRI_RPC(pod_sandbox_stats);
MASCRI_RPC(list_pod_sandbox_stats);
/* rpc-container.c */
MASCRI_RPC(create_container);
MASCRI_RPC(start_container);
MASCRI_RPC(stop_container);
MASCRI_RPC(remove_container);
MASCRI_RPC(list_containers);
MASCRI_RPC(container_status);
MASCRI_RPC(update_container_resources);
MASCRI_RPC(reopen_container_log);
MASCRI_RPC(exec_sync);
MASCRI_RPC(container_stats);
MASCRI_RPC(list_container_stats);
/* stream-rpc.c */
MASCRI_RPC(exec);
MASCRI_RPC(attach);
MASCRI_RPC(port_forward);
/* The containers' on_event callback (data: the daemon): publishes a GetContainerEvents
 * message with the pod's status and its containers' statuses. */
void mascri_rpc_container_event(void *data, const char *ctr_id, const char *pod_id,
                                mascri_ctr_event_t type);

#endif
