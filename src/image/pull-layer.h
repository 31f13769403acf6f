/* Fetching one layer: the blob streams from the registry through a socket pair straight
 * into libarchive, with the compressed digest checked as it arrives and the uncompressed
 * one (the diff ID) checked at the end; the layer only enters the store when both match.
 * Transient failures are retried with backoff; a layer two pulls want is made once. */
#ifndef MASCRI_IMAGE_PULL_LAYER_H
#define MASCRI_IMAGE_PULL_LAYER_H

#include "image/image.h"
#include "image/manifest.h"
#include "image/registry.h"

struct pull_layer_job {
  const struct mascri_descriptor *desc;
  const char *diff_id;
  const char *chain_id;
};

struct pull_layers {
  mascri_image_store_t *store;
  mascri_registry_client_t *client;
  const struct mascri_pull_options *opts;
  struct pull_layer_job *jobs;
  size_t n_jobs;
  unsigned parallel;
};

/* Makes sure every job's layer is in the store, fetching the missing ones in parallel. */
int mascri_pull_layers(struct pull_layers *p, mascri_error_t *err);

#endif
