/* Streaming process side (stream.h): not built yet, every call answers UNIMPLEMENTED. */
#include <stdlib.h>

#include "sandbox/stream.h"

int mascri_containers_exec_stream(struct mascri_containers *ctrs, const char *id, char *const *argv,
                                  const struct mascri_stream_opts *o,
                                  struct mascri_stream_proc **out, mascri_error_t *err)
{
  (void)ctrs, (void)id, (void)argv, (void)o, (void)out;
  return mascri_make_error_kind(err, MASCRI_ERR_UNIMPLEMENTED, 0, "exec streams: not built yet");
}

int mascri_containers_attach(struct mascri_containers *ctrs, const char *id,
                             const struct mascri_stream_opts *o, struct mascri_stream_proc **out,
                             mascri_error_t *err)
{
  (void)ctrs, (void)id, (void)o, (void)out;
  return mascri_make_error_kind(err, MASCRI_ERR_UNIMPLEMENTED, 0, "attach: not built yet");
}

int mascri_stream_proc_resize(struct mascri_stream_proc *p, unsigned short width,
                              unsigned short height, mascri_error_t *err)
{
  (void)p, (void)width, (void)height, (void)err;
  return 0;
}

void mascri_stream_proc_close_stdin(struct mascri_stream_proc *p)
{
  (void)p;
}

int mascri_stream_proc_result(struct mascri_stream_proc *p, int *exit_code)
{
  (void)p, (void)exit_code;
  return 0;
}

void mascri_stream_proc_free(struct mascri_stream_proc *p)
{
  free(p);
}

int mascri_pods_port_connect(struct mascri_pods *pods, const char *pod_id, uint16_t port,
                             mascri_error_t *err)
{
  (void)pods, (void)pod_id, (void)port;
  return mascri_make_error_kind(err, MASCRI_ERR_UNIMPLEMENTED, 0, "port forward: not built yet");
}
