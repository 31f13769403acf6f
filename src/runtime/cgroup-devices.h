/* Device rules on a pure cgroup v2 host. v2 has no devices controller: the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead (as runc and crun do).
 * The program is generated from linux.resources.devices (plus the runtime's default allowed
 * set) with the v1 controller's meaning, so a spec behaves the same on both:
 *   - the rules apply in order and a later rule overrides an earlier one: the program tests
 *     them last to first and the first that matches decides;
 *   - a rule of type 'a' (all devices) resets what came before it (v1's "a" write): the
 *     rules before the last one are never tested and its allow/deny becomes the default;
 *   - with no 'a' rule the default is allow (a new v1 cgroup allows everything);
 *   - an allow rule matches a request whose access (read, write, mknod) it covers in full, a
 *     deny rule a request that asks for any access it names.
 * One approximation, as in runc: two allow rules that split a device's access between them
 * ("r" then "w") do not together allow an open for read and write. */
#ifndef MASCRI_RUNTIME_CGROUP_DEVICES_H
#define MASCRI_RUNTIME_CGROUP_DEVICES_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"

/* Bound on the rules one program tests (9 instructions each at most: far below the
 * kernel's 4096-instruction limit for a program of this kind). */
#define MASCRI_DEVICE_RULES_MAX 400

typedef struct mascri_device_prog {
  struct bpf_insn *insns;
  size_t n; /* 0: every access is allowed, there is nothing to attach */
} mascri_device_prog_t;

/* Builds the program for rules (then, with with_defaults, the runtime's default allowed
 * devices: null, zero, full, random, urandom, tty, console, ptmx, pts, tun and mknod of any
 * node). INVALID_ARGUMENT for a rule with an unknown type or access letter, a major or minor
 * out of range, or more than MASCRI_DEVICE_RULES_MAX rules. */
int mascri_device_prog_build(const mascri_spec_device_rule_t *rules, size_t n, bool with_defaults,
                             mascri_device_prog_t *out, mascri_error_t *err);
void mascri_device_prog_clear(mascri_device_prog_t *p);

/* Loads the program with bpf(2) and attaches it to the cgroup directory cgroup_fd as a
 * BPF_CGROUP_DEVICE program with BPF_F_ALLOW_MULTI (programs of the parents, such as
 * systemd's for a slice, still run too; all of them must allow). The cgroup holds the
 * program from then on; it goes with the cgroup. */
int mascri_device_prog_attach(const mascri_device_prog_t *p, int cgroup_fd, mascri_error_t *err);

/* The rules of r on cg's v2 directory when the host is pure v2 (v1 and hybrid hosts have the
 * devices controller: cgroup-resources.c writes them there); nothing when every access is
 * allowed. */
int mascri_cgroup_devices_apply(const mascri_cgroup_t *cg, const mascri_spec_resources_t *r,
                                bool with_defaults, mascri_error_t *err);

#endif
