/* The table of pods or of containers (objtable.h). */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "sandbox/objtable.h"

void mascri_obj_init(struct mascri_obj *o)
{
  *o = (struct mascri_obj){.refs = 1};
  pthread_mutex_init(&o->op, NULL);
}

void mascri_obj_destroy(struct mascri_obj *o)
{
  pthread_mutex_destroy(&o->op);
}

void mascri_objtable_init(struct mascri_objtable *t, const struct mascri_objtable_kind *kind)
{
  *t = (struct mascri_objtable){.kind = kind};
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->settled, NULL);
}

void mascri_objtable_destroy(struct mascri_objtable *t)
{
  for (size_t i = 0; i < t->n; i++)
    t->kind->free(t->v[i]);
  free(t->v);
  t->v = NULL;
  t->n = 0;
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->settled);
}

bool mascri_obj_is_id(const char *s)
{
  size_t n = strlen(s);
  return n == 64 && strspn(s, "0123456789abcdef") == n;
}

struct mascri_obj *mascri_objtable_find_locked(struct mascri_objtable *t, const char *id_or_prefix,
                                               mascri_error_t *err)
{
  const char *what = t->kind->what;
  size_t len = id_or_prefix ? strlen(id_or_prefix) : 0;
  struct mascri_obj *found = NULL;
  if (len == 0) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s id is required", what);
    return NULL;
  }
  for (size_t i = 0; i < t->n; i++) {
    struct mascri_obj *o = t->v[i];
    if (o->creating || strncmp(o->id, id_or_prefix, len) != 0)
      continue;
    if (o->id[len] == '\0')
      return o;
    if (found) {
      mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                             "%s id prefix \"%s\" is ambiguous", what, id_or_prefix);
      return NULL;
    }
    found = o;
  }
  if (!found)
    mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "%s \"%s\" not found", what, id_or_prefix);
  return found;
}

struct mascri_obj *mascri_objtable_get_locked(struct mascri_objtable *t, const char *id)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i]->id, id) == 0)
      return t->v[i];
  return NULL;
}

void mascri_objtable_add_locked(struct mascri_objtable *t, struct mascri_obj *o)
{
  t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
  t->v[t->n++] = o;
}

static void unlink_locked(struct mascri_objtable *t, struct mascri_obj *o)
{
  for (size_t i = 0; i < t->n; i++)
    if (t->v[i] == o) {
      memmove(t->v + i, t->v + i + 1, (t->n - i - 1) * sizeof(*t->v));
      t->n--;
      return;
    }
}

void mascri_objtable_sort_locked(struct mascri_objtable *t,
                                 int (*cmp)(const struct mascri_obj *a, const struct mascri_obj *b))
{
  /* Insertion sort: stable, and the records mostly come back in order already. */
  for (size_t i = 1; i < t->n; i++)
    for (size_t j = i; j > 0 && cmp(t->v[j - 1], t->v[j]) > 0; j--) {
      struct mascri_obj *tmp = t->v[j];
      t->v[j] = t->v[j - 1];
      t->v[j - 1] = tmp;
    }
}

static struct mascri_obj *find_name_locked(struct mascri_objtable *t, const char *name)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i]->name, name) == 0)
      return t->v[i];
  return NULL;
}

int mascri_objtable_reserve(struct mascri_objtable *t, struct mascri_obj *o,
                            mascri_obj_same_fn same, const void *request, char **existing,
                            mascri_error_t *err)
{
  o->creating = true;
  pthread_mutex_lock(&t->lock);
  struct mascri_obj *q;
  bool waited = false;
  while ((q = find_name_locked(t, o->name)) && q->creating) {
    pthread_cond_wait(&t->settled, &t->lock);
    waited = true;
  }
  int r = 0;
  if (q && waited && same && same(q, request)) {
    *existing = xstrdup(q->id);
    r = 1;
  } else if (q) {
    r = mascri_make_error_kind(err, MASCRI_ERR_ALREADY_EXISTS, 0, "%s name \"%s\" %s %s",
                               t->kind->what, o->name, t->kind->name_taken, q->id);
  } else {
    mascri_objtable_add_locked(t, o);
  }
  pthread_mutex_unlock(&t->lock);
  return r;
}

void mascri_objtable_settle(struct mascri_objtable *t, struct mascri_obj *o, bool ok)
{
  pthread_mutex_lock(&t->lock);
  o->creating = false;
  bool last = false;
  if (!ok) {
    unlink_locked(t, o);
    o->removed = true;
    last = --o->refs == 0;
  }
  pthread_cond_broadcast(&t->settled);
  pthread_mutex_unlock(&t->lock);
  if (last)
    t->kind->free(o);
}

void mascri_objtable_unref(struct mascri_objtable *t, struct mascri_obj *o)
{
  pthread_mutex_lock(&t->lock);
  bool last = --o->refs == 0;
  pthread_mutex_unlock(&t->lock);
  if (last)
    t->kind->free(o);
}

struct mascri_obj *mascri_objtable_acquire(struct mascri_objtable *t, const char *id_or_prefix,
                                           mascri_error_t *err)
{
  pthread_mutex_lock(&t->lock);
  struct mascri_obj *o = mascri_objtable_find_locked(t, id_or_prefix, err);
  if (o)
    o->refs++;
  pthread_mutex_unlock(&t->lock);
  if (!o)
    return NULL;
  pthread_mutex_lock(&o->op);
  if (o->removed) {
    mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "%s \"%s\" not found", t->kind->what,
                           id_or_prefix);
    mascri_objtable_put(t, o);
    return NULL;
  }
  return o;
}

void mascri_objtable_put(struct mascri_objtable *t, struct mascri_obj *o)
{
  pthread_mutex_unlock(&o->op);
  mascri_objtable_unref(t, o);
}

void mascri_objtable_remove(struct mascri_objtable *t, struct mascri_obj *o)
{
  pthread_mutex_lock(&t->lock);
  unlink_locked(t, o);
  o->removed = true;
  o->refs--; /* the table's; the caller's keeps o until put */
  pthread_mutex_unlock(&t->lock);
}

void mascri_obj_info_copy(const struct mascri_obj_info_desc *d, void *dst, const void *src)
{
  memcpy(dst, src, d->size);
  for (size_t i = 0; i < d->n_strs; i++) {
    char **s = mascri_obj_info_str(dst, &d->strs[i]);
    *s = *s ? xstrdup(*s) : NULL;
  }
  void **config = (void **)((char *)dst + d->config_off);
  *config = *config ? d->config_copy(*config) : NULL;
}

void mascri_obj_info_clear(const struct mascri_obj_info_desc *d, void *info)
{
  for (size_t i = 0; i < d->n_strs; i++)
    free(*mascri_obj_info_str(info, &d->strs[i]));
  void *config = *(void **)((char *)info + d->config_off);
  if (config)
    d->config_free(config);
  memset(info, 0, d->size);
}
