/* The v2 device program generator: the programs it builds are run here by a small
 * interpreter of the instructions it may emit (any other instruction fails the test), and
 * their verdicts checked against the v1 controller's meaning of the same rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "runtime/cgroup-devices.h"

#define R 1
#define W 2
#define M 4

/* Runs prog on a request: type 'c'/'b', access R|W|M. Returns 1 (allow) or 0 (deny). */
static int run(const mascri_device_prog_t *p, char type, uint32_t major, uint32_t minor, int access)
{
  uint32_t acc = ((access & R) ? BPF_DEVCG_ACC_READ : 0) |
                 ((access & W) ? BPF_DEVCG_ACC_WRITE : 0) |
                 ((access & M) ? BPF_DEVCG_ACC_MKNOD : 0);
  struct bpf_cgroup_dev_ctx ctx = {
      .access_type = acc << 16 | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK),
      .major = major,
      .minor = minor,
  };
  uint64_t reg[11] = {0};
  bool set[11] = {false};
  reg[1] = (uint64_t)(uintptr_t)&ctx;
  set[1] = true;
  for (size_t pc = 0, steps = 0; pc < p->n; pc++, steps++) {
    assert_true(steps < 100000);
    const struct bpf_insn *i = &p->insns[pc];
    assert_true(i->dst_reg <= 10 && i->src_reg <= 10);
    uint64_t src = i->src_reg ? reg[i->src_reg] : 0;
    switch (i->code) {
    case BPF_LDX | BPF_MEM | BPF_W:
      assert_int_equal(i->src_reg, 1); /* only the context is read */
      assert_true(i->off >= 0 && (size_t)i->off + 4 <= sizeof(ctx) && i->off % 4 == 0);
      reg[i->dst_reg] = *(uint32_t *)((char *)&ctx + i->off);
      break;
    case BPF_ALU | BPF_MOV | BPF_X:
      assert_true(set[i->src_reg]);
      reg[i->dst_reg] = (uint32_t)src;
      break;
    case BPF_ALU | BPF_AND | BPF_K:
      assert_true(set[i->dst_reg]);
      reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] & (uint32_t)i->imm;
      break;
    case BPF_ALU | BPF_RSH | BPF_K:
      assert_true(set[i->dst_reg]);
      reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] >> i->imm;
      break;
    case BPF_ALU64 | BPF_MOV | BPF_K:
      reg[i->dst_reg] = (uint64_t)(int64_t)i->imm;
      break;
    case BPF_JMP | BPF_JNE | BPF_K:
    case BPF_JMP | BPF_JEQ | BPF_K: {
      assert_true(set[i->dst_reg]);
      bool eq = reg[i->dst_reg] == (uint64_t)(int64_t)i->imm;
      if (eq == (BPF_OP(i->code) == BPF_JEQ)) {
        assert_true(i->off >= 0 && pc + 1 + (size_t)i->off < p->n);
        pc += (size_t)i->off;
      }
      break;
    }
    case BPF_JMP | BPF_EXIT:
      assert_true(set[0]);
      assert_true(reg[0] == 0 || reg[0] == 1);
      return (int)reg[0];
    default:
      fail_msg("unexpected instruction %#x at %zu", i->code, pc);
    }
    if (BPF_CLASS(i->code) != BPF_JMP)
      set[i->dst_reg] = true;
  }
  fail_msg("the program ran off its end");
  return -1;
}

static mascri_device_prog_t build(const mascri_spec_device_rule_t *rules, size_t n, bool defaults)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_device_prog_t p;
  assert_int_equal(mascri_device_prog_build(rules, n, defaults, &p, &err), 0);
  return p;
}

/* What CRI gives an unprivileged container: deny all, then the runtime's defaults. */
static void deny_all_then_defaults(void **state)
{
  (void)state;
  mascri_spec_device_rule_t rules[] = {{false, 'a', -1, -1, "rwm"}};
  _cleanup_(mascri_device_prog_clear) mascri_device_prog_t p = build(rules, 1, true);
  assert_true(p.n > 0);
  assert_int_equal(run(&p, 'c', 1, 3, R | W), 1);    /* /dev/null */
  assert_int_equal(run(&p, 'c', 1, 9, R), 1);        /* urandom */
  assert_int_equal(run(&p, 'c', 136, 7, R | W), 1);  /* a pts */
  assert_int_equal(run(&p, 'c', 10, 200, R | W), 1); /* tun */
  assert_int_equal(run(&p, 'c', 1, 11, W), 0);       /* kmsg */
  assert_int_equal(run(&p, 'c', 1, 1, R), 0);        /* mem */
  assert_int_equal(run(&p, 'b', 8, 0, R), 0);        /* sda */
  /* any node may be made, not opened */
  assert_int_equal(run(&p, 'c', 1, 11, M), 1);
  assert_int_equal(run(&p, 'b', 8, 0, M), 1);
  assert_int_equal(run(&p, 'b', 8, 0, M | R), 0);
}

static void later_rules_win(void **state)
{
  (void)state;
  mascri_spec_device_rule_t rules[] = {
      {false, 'a', -1, -1, NULL}, {true, 'c', 4, -1, "rw"}, /* every tty */
      {false, 'c', 4, 1, "w"},                              /* but tty1 read-only */
      {true, 'b', -1, -1, "r"},                             /* every block device, read */
      {false, 'b', 8, 16, NULL},                            /* except sdb */
  };
  _cleanup_(mascri_device_prog_clear) mascri_device_prog_t p = build(rules, 5, false);
  assert_int_equal(run(&p, 'c', 4, 2, R | W), 1);
  assert_int_equal(run(&p, 'c', 4, 1, R), 1);
  assert_int_equal(run(&p, 'c', 4, 1, W), 0);
  assert_int_equal(run(&p, 'c', 4, 1, R | W), 0); /* a deny of any asked access denies */
  assert_int_equal(run(&p, 'c', 4, 2, M), 0);     /* "rw" does not cover mknod */
  assert_int_equal(run(&p, 'b', 8, 0, R), 1);
  assert_int_equal(run(&p, 'b', 8, 0, R | W), 0);
  assert_int_equal(run(&p, 'b', 8, 16, R), 0);
  assert_int_equal(run(&p, 'c', 1, 3, R), 0); /* nothing else: the default is deny */
}

static void an_a_rule_resets(void **state)
{
  (void)state;
  /* everything before the last "a" is gone; "allow a" makes allow the default */
  mascri_spec_device_rule_t rules[] = {
      {true, 'c', 1, 3, NULL},
      {false, 'a', -1, -1, NULL},
      {true, 'a', -1, -1, NULL},
      {false, 'c', 1, 1, "rw"},
  };
  _cleanup_(mascri_device_prog_clear) mascri_device_prog_t p = build(rules, 4, false);
  assert_int_equal(run(&p, 'c', 1, 1, R), 0);
  assert_int_equal(run(&p, 'c', 1, 1, M), 1);
  assert_int_equal(run(&p, 'b', 8, 0, R | W), 1);
  /* a privileged container: allow all, then the defaults: nothing to attach */
  mascri_spec_device_rule_t priv[] = {{true, 'a', -1, -1, "rwm"}};
  _cleanup_(mascri_device_prog_clear) mascri_device_prog_t q = build(priv, 1, true);
  assert_int_equal(q.n, 0);
  /* no rules at all: a new v1 cgroup allows everything, so no program either */
  _cleanup_(mascri_device_prog_clear) mascri_device_prog_t e = build(NULL, 0, false);
  assert_int_equal(e.n, 0);
  /* without an "a", allow is the default and a deny rule still counts */
  mascri_spec_device_rule_t one[] = {{false, 'b', 8, -1, NULL}};
  _cleanup_(mascri_device_prog_clear) mascri_device_prog_t d = build(one, 1, false);
  assert_int_equal(run(&d, 'b', 8, 3, R), 0);
  assert_int_equal(run(&d, 'b', 9, 3, R), 1);
  assert_int_equal(run(&d, 'c', 8, 3, R), 1);
}

static void bad_rules(void **state)
{
  (void)state;
  mascri_device_prog_t p;
  mascri_spec_device_rule_t type[] = {{true, 'x', 1, 1, NULL}};
  mascri_spec_device_rule_t access[] = {{true, 'c', 1, 1, "rwx"}};
  mascri_spec_device_rule_t major[] = {{true, 'c', 1LL << 40, 1, NULL}};
  const mascri_spec_device_rule_t *bad[] = {type, access, major};
  for (size_t i = 0; i < 3; i++) {
    _cleanup_error_ mascri_error_t err = NULL;
    assert_true(mascri_device_prog_build(bad[i], 1, true, &p, &err) < 0);
    assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(mascri_error_message(&err), "devices[0]"));
  }
  /* too many rules: bounded, not a program the kernel refuses */
  size_t n = MASCRI_DEVICE_RULES_MAX;
  mascri_spec_device_rule_t *many = calloc(n, sizeof(*many));
  for (size_t i = 0; i < n; i++)
    many[i] = (mascri_spec_device_rule_t){false, 'c', 1, (int64_t)i, NULL};
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(mascri_device_prog_build(many, n, true, &p, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "at most"));
  /* the most allowed fits the kernel's 4096 instructions */
  mascri_device_prog_t big;
  mascri_error_release(&err);
  assert_int_equal(
      mascri_device_prog_build(many, n - mascri_cgroup_n_default_devices, true, &big, &err), 0);
  assert_true(big.n <= 4096);
  assert_int_equal(run(&big, 'c', 1, 4, R), 0);   /* denied by a rule */
  assert_int_equal(run(&big, 'c', 1, 5, R), 1);   /* denied, then allowed by a default */
  assert_int_equal(run(&big, 'c', 1, 500, R), 1); /* no "a": allowed */
  mascri_device_prog_clear(&big);
  free(many);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deny_all_then_defaults),
      cmocka_unit_test(later_rules_win),
      cmocka_unit_test(an_a_rule_resets),
      cmocka_unit_test(bad_rules),
  };
  return cmocka_run_group_tests_name("runtime-cgroup-devices", tests, NULL, NULL);
}
