/* One table for the pods and for the containers: lookup by full id or unique id prefix,
 * a reference count plus a per-object lock, name reservation tied to the request in flight,
 * iteration in creation order; and the copy/clear of their info structs.
 *
 * Each pod and container embeds a struct mascri_obj; the table holds pointers to them in
 * creation order. The table's lock guards the table, every header's refs and flags, and
 * whatever fields of the owning objects their store says it does. */
#ifndef MASCRI_SANDBOX_OBJTABLE_H
#define MASCRI_SANDBOX_OBJTABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct mascri_obj {
  /* Point into the owning object (its info's id, its full name): set before the object
   * enters the table and left alone while it is in it. */
  const char *id;
  const char *name;
  pthread_mutex_t op; /* serialises the operations on this object (taken by acquire) */
  unsigned refs;      /* the table's reference plus one per call in flight (table lock) */
  bool creating;      /* its creation is in flight: the name is reserved, nothing else */
  bool removed;       /* unlinked from the table (under op) */
};

/* What the table needs to know of its objects. */
struct mascri_objtable_kind {
  const char *what;       /* "pod sandbox": the subject of every error message */
  const char *name_taken; /* "is reserved for": name "<name>" <name_taken> <holder id> */
  void (*free)(struct mascri_obj *o); /* frees the owning object once unreferenced */
};

struct mascri_objtable {
  const struct mascri_objtable_kind *kind;
  pthread_mutex_t lock;
  pthread_cond_t settled; /* broadcast when a creation in flight ends (with lock) */
  struct mascri_obj **v;  /* in creation order */
  size_t n;
};

/* The header of a new object: one reference (the table's once it is added). */
void mascri_obj_init(struct mascri_obj *o);
void mascri_obj_destroy(struct mascri_obj *o);

void mascri_objtable_init(struct mascri_objtable *t, const struct mascri_objtable_kind *kind);
/* Frees every object still in the table. */
void mascri_objtable_destroy(struct mascri_objtable *t);

static inline void mascri_objtable_lock(struct mascri_objtable *t)
{
  pthread_mutex_lock(&t->lock);
}
static inline void mascri_objtable_unlock(struct mascri_objtable *t)
{
  pthread_mutex_unlock(&t->lock);
}

/* Whether s has the form of an object id (64 lowercase hex digits). */
bool mascri_obj_is_id(const char *s);

/* ---- with the table's lock held ---------------------------------------------------- */

/* By full id or unique prefix, objects being created left out: INVALID_ARGUMENT when empty
 * or ambiguous, NOT_FOUND when none. */
struct mascri_obj *mascri_objtable_find_locked(struct mascri_objtable *t, const char *id_or_prefix,
                                               mascri_error_t *err);
/* By exact id, objects being created included; NULL when none. */
struct mascri_obj *mascri_objtable_get_locked(struct mascri_objtable *t, const char *id);
/* Appends o (restore: no reservation, no wait). */
void mascri_objtable_add_locked(struct mascri_objtable *t, struct mascri_obj *o);
/* Sorts by cmp (restore: records come back in directory order). */
void mascri_objtable_sort_locked(struct mascri_objtable *t, int (*cmp)(const struct mascri_obj *a,
                                                                       const struct mascri_obj *b));
/* The created objects in creation order: the first at or after *pos (start at 0), which
 * moves past it; NULL at the end.
 *   for (size_t i = 0; (o = mascri_objtable_next_locked(t, &i));) ... */
static inline struct mascri_obj *mascri_objtable_next_locked(const struct mascri_objtable *t,
                                                             size_t *pos)
{
  while (*pos < t->n && t->v[*pos]->creating)
    ++*pos;
  return *pos < t->n ? t->v[(*pos)++] : NULL;
}
static inline void mascri_obj_ref_locked(struct mascri_obj *o)
{
  o->refs++;
}

/* ---- taking the lock --------------------------------------------------------------- */

/* Whether holder, found holding the name once the request in flight with it ended, is what
 * an identical request made (a client retrying after its own timeout). */
typedef bool (*mascri_obj_same_fn)(const struct mascri_obj *holder, const void *request);

/* Reserves o->name by adding o (creating, o->id and o->name set) to the table. A creation
 * of the same name still in flight is waited for instead: when it made what same() accepts,
 * returns 1 with *existing = its id (o is not added); when it failed, the name is o's.
 * Returns 0 when reserved, -1 with ALREADY_EXISTS naming the holder when taken. */
int mascri_objtable_reserve(struct mascri_objtable *t, struct mascri_obj *o,
                            mascri_obj_same_fn same, const void *request, char **existing,
                            mascri_error_t *err);
/* Ends o's creation: visible when ok, else unlinked and the table's reference dropped (o
 * freed if it was the last); wakes the requests waiting for the name. */
void mascri_objtable_settle(struct mascri_objtable *t, struct mascri_obj *o, bool ok);

/* Finds (as find_locked), takes a reference and o->op: NOT_FOUND too when the object was
 * removed while this waited for op. Drop both with mascri_objtable_put. */
struct mascri_obj *mascri_objtable_acquire(struct mascri_objtable *t, const char *id_or_prefix,
                                           mascri_error_t *err);
void mascri_objtable_put(struct mascri_objtable *t, struct mascri_obj *o);
/* Drops a reference taken with mascri_obj_ref_locked; frees o when it was the last. */
void mascri_objtable_unref(struct mascri_objtable *t, struct mascri_obj *o);
/* With o->op held (acquired): unlinks o, marks it removed and drops the table's reference;
 * o stays valid until put. */
void mascri_objtable_remove(struct mascri_objtable *t, struct mascri_obj *o);

/* ---- info structs ------------------------------------------------------------------ */

/* A string field of an info struct: its record key and offset. */
struct mascri_obj_str_field {
  const char *key;
  size_t off;
};

/* The owned parts of an info struct: its strings and its config (a heap object). */
struct mascri_obj_info_desc {
  size_t size;
  const struct mascri_obj_str_field *strs;
  size_t n_strs;
  size_t config_off;                        /* of the config pointer, NULL when none */
  void *(*config_copy)(const void *config); /* a deep heap copy */
  void (*config_free)(void *config);
};

static inline char **mascri_obj_info_str(void *info, const struct mascri_obj_str_field *f)
{
  return (char **)((char *)info + f->off);
}

/* Deep copy of src into dst (no clear of dst first). */
void mascri_obj_info_copy(const struct mascri_obj_info_desc *d, void *dst, const void *src);
/* Frees what info owns and zeroes it. */
void mascri_obj_info_clear(const struct mascri_obj_info_desc *d, void *info);

#endif
