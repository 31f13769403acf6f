/* The v2 device program: generated from the rules (cgroup-devices.h says with which
 * meaning), loaded with bpf(2) and attached to the container's cgroup. No libbpf: the
 * program is a straight line of compares, assembled here. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/cgroup-devices.h"

/* A rule as the program tests it. */
typedef struct dev_rule {
  bool allow;
  char type;            /* 'a', 'c', 'b' */
  int64_t major, minor; /* -1 = any */
  uint32_t access;      /* BPF_DEVCG_ACC_* bits */
} dev_rule_t;

/* The registers: the context's fields once loaded, and a scratch one. */
enum { R_CTX = 1, R_TYPE = 2, R_ACCESS = 3, R_MAJOR = 4, R_MINOR = 5, R_TMP = 6 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
  return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static int parse_access(const char *s, uint32_t *out)
{
  *out = 0;
  if (!s || !*s) {
    *out = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
    return 0;
  }
  for (; *s; s++) {
    switch (*s) {
    case 'r':
      *out |= BPF_DEVCG_ACC_READ;
      break;
    case 'w':
      *out |= BPF_DEVCG_ACC_WRITE;
      break;
    case 'm':
      *out |= BPF_DEVCG_ACC_MKNOD;
      break;
    default:
      return -1;
    }
  }
  return 0;
}

static int check_rule(const dev_rule_t *d, size_t i, mascri_error_t *err)
{
  if (d->type != 'a' && d->type != 'c' && d->type != 'b')
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.resources.devices[%zu].type: \"%c\" is not a, c or b", i,
                                  d->type);
  if (d->major < -1 || d->major > INT32_MAX || d->minor < -1 || d->minor > INT32_MAX)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.resources.devices[%zu]: major/minor out of range", i);
  return 0;
}

/* The spec's rules then the defaults, as one list. */
static int collect(const mascri_spec_device_rule_t *rules, size_t n, bool with_defaults,
                   dev_rule_t **out, size_t *n_out, mascri_error_t *err)
{
  size_t total = n + (with_defaults ? mascri_cgroup_n_default_devices : 0);
  if (total > MASCRI_DEVICE_RULES_MAX)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.resources.devices: %zu rules with the defaults, at most "
                                  "%d are supported",
                                  total, MASCRI_DEVICE_RULES_MAX);
  _cleanup_free_ dev_rule_t *all = xcalloc(total + 1, sizeof(*all));
  for (size_t i = 0; i < n; i++) {
    all[i] = (dev_rule_t){rules[i].allow, rules[i].type ? rules[i].type : 'a', rules[i].major,
                          rules[i].minor, 0};
    if (check_rule(&all[i], i, err) < 0)
      return -1;
    if (parse_access(rules[i].access, &all[i].access) < 0)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.resources.devices[%zu].access: \"%s\" is not a subset "
                                    "of \"rwm\"",
                                    i, rules[i].access);
  }
  for (size_t i = n; i < total; i++) {
    const mascri_cgroup_default_device_t *d = &mascri_cgroup_default_devices[i - n];
    all[i] = (dev_rule_t){true, d->type, d->major, d->minor, 0};
    (void)parse_access(d->access, &all[i].access);
  }
  *out = TAKE_PTR(all);
  *n_out = total;
  return 0;
}

#define FULL_ACCESS (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

/* One rule: jumps past itself unless the request matches, then returns its verdict. */
static size_t emit_rule(struct bpf_insn *p, const dev_rule_t *d)
{
  struct bpf_insn body[9];
  size_t n = 0;
  /* a jump's offset is filled in below, once the rule's length is known; no 'a' rule gets
   * here (the build starts after the last one) */
  body[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_TYPE, 0, 0,
                   d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
  if ((d->access & FULL_ACCESS) != FULL_ACCESS) {
    body[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, R_TMP, R_ACCESS, 0, 0);
    if (d->allow) { /* the request asks for nothing the rule does not allow */
      body[n++] = insn(BPF_ALU | BPF_AND | BPF_K, R_TMP, 0, 0, (int32_t)(~d->access & FULL_ACCESS));
      body[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_TMP, 0, 0, 0);
    } else { /* the request asks for something the rule denies */
      body[n++] = insn(BPF_ALU | BPF_AND | BPF_K, R_TMP, 0, 0, (int32_t)d->access);
      body[n++] = insn(BPF_JMP | BPF_JEQ | BPF_K, R_TMP, 0, 0, 0);
    }
  }
  if (d->major >= 0)
    body[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MAJOR, 0, 0, (int32_t)(uint32_t)d->major);
  if (d->minor >= 0)
    body[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MINOR, 0, 0, (int32_t)(uint32_t)d->minor);
  body[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, d->allow ? 1 : 0);
  body[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (size_t i = 0; i < n; i++)
    if (BPF_CLASS(body[i].code) == BPF_JMP && BPF_OP(body[i].code) != BPF_EXIT)
      body[i].off = (int16_t)(n - i - 1); /* to the first instruction after the rule */
  memcpy(p, body, n * sizeof(*body));
  return n;
}

int mascri_device_prog_build(const mascri_spec_device_rule_t *rules, size_t n, bool with_defaults,
                             mascri_device_prog_t *out, mascri_error_t *err)
{
  *out = (mascri_device_prog_t){0};
  _cleanup_free_ dev_rule_t *all = NULL;
  size_t total = 0;
  if (collect(rules, n, with_defaults, &all, &total, err) < 0)
    return -1;
  /* v1's "a" (written as just "a", whatever else the rule says): what came before is gone,
   * its verdict is the default */
  bool default_allow = true;
  size_t first = 0;
  for (size_t i = 0; i < total; i++)
    if (all[i].type == 'a') {
      default_allow = all[i].allow;
      first = i + 1;
    }
  bool any_deny = !default_allow;
  for (size_t i = first; i < total; i++)
    any_deny |= !all[i].allow;
  if (!any_deny)
    return 0; /* everything is allowed: no program */

  struct bpf_insn *p = xcalloc(5 + (total - first) * 9 + 2, sizeof(*p));
  size_t k = 0;
  /* struct bpf_cgroup_dev_ctx: access_type = access << 16 | type, major, minor */
  p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_TYPE, R_CTX, 0, 0);
  p[k++] = insn(BPF_ALU | BPF_MOV | BPF_X, R_ACCESS, R_TYPE, 0, 0);
  p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, R_TYPE, 0, 0, 0xffff);
  p[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, R_ACCESS, 0, 0, 16);
  p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MAJOR, R_CTX, 4, 0);
  p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MINOR, R_CTX, 8, 0);
  for (size_t i = total; i > first; i--)
    k += emit_rule(p + k, &all[i - 1]);
  p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, default_allow ? 1 : 0);
  p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  out->insns = p;
  out->n = k;
  return 0;
}

void mascri_device_prog_clear(mascri_device_prog_t *p)
{
  free(p->insns);
  *p = (mascri_device_prog_t){0};
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
  int r;
  do
    r = (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
  while (r < 0 && errno == EINTR);
  return r;
}

static int load(const mascri_device_prog_t *p, mascri_error_t *err)
{
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)p->insns;
  attr.insn_cnt = (uint32_t)p->n;
  attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
  int fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  int e = errno;
  if (e != EINVAL && e != EACCES)
    return mascri_make_error(err, e, "load the cgroup device program (bpf BPF_PROG_LOAD)");
  /* the verifier refused it: once more with its log, for the message */
  char log[4096] = "";
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = sizeof(log);
  attr.log_level = 1;
  fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  size_t len = strnlen(log, sizeof(log) - 1);
  while (len && log[len - 1] == '\n')
    log[--len] = '\0';
  const char *last = strrchr(log, '\n');
  return mascri_make_error(err, e, "load the cgroup device program (%zu instructions): %s", p->n,
                           last ? last + 1 : log);
}

int mascri_device_prog_attach(const mascri_device_prog_t *p, int cgroup_fd, mascri_error_t *err)
{
  _cleanup_close_ int fd = load(p, err);
  if (fd < 0)
    return -1;
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = (uint32_t)cgroup_fd;
  attr.attach_bpf_fd = (uint32_t)fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
    return mascri_make_error(err, errno, "attach the device program to the cgroup");
  return 0;
}

int mascri_cgroup_devices_apply(const mascri_cgroup_t *cg, const mascri_spec_resources_t *r,
                                bool with_defaults, mascri_error_t *err)
{
  if (cg->layout.mode != MASCRI_CGROUP_V2)
    return 0;
  _cleanup_(mascri_device_prog_clear) mascri_device_prog_t prog = {0};
  if (mascri_device_prog_build(r ? r->devices : NULL, r ? r->n_devices : 0, with_defaults, &prog,
                               err) < 0)
    return -1;
  if (prog.n == 0)
    return 0;
  _cleanup_close_ int fd = mascri_cgroup_open_v2(cg, err);
  if (fd < 0 || mascri_device_prog_attach(&prog, fd, err) < 0)
    return mascri_error_wrap(err, "device rules on cgroup %s", cg->path);
  log_debug("cgroup %s: device program of %zu instructions attached", cg->path, prog.n);
  return 0;
}
