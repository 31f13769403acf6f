/* spec (the default config.json) and features (runc's features JSON). */
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <getopt.h>
#include <sys/capability.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/caps.h"
#include "runtime/cli/cli-internal.h"

int cmd_spec(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                       {"rootless", no_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
  const char *bundle = ".";
  bool rootless = false;
  int c;
  while ((c = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
    if (c == 'b')
      bundle = optarg;
    else if (c == 'r')
      rootless = true;
    else
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "spec: bad option");
  }
  _cleanup_free_ char *path = mascri_path_join(bundle, "config.json");
  if (access(path, F_OK) == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_ALREADY_EXISTS, EEXIST,
                                  "File %s exists. "
                                  "Remove it first",
                                  path);
  _cleanup_free_ char *json = mascri_spec_default_json(rootless);
  return mascri_write_file_atomic(path, json, strlen(json), 0666, err);
}

static void cap_free_charp(char **p)
{
  if (*p)
    cap_free(*p);
}

/* "capabilities": every capability this kernel knows, by its CAP_ name, as runc lists them */
static void print_capabilities(void)
{
  printf("    \"capabilities\": [");
  for (int c = 0; c <= mascri_caps_last_cap(); c++) {
    _cleanup_(cap_free_charp) char *name = cap_to_name((cap_value_t)c);
    printf("%s\"", c ? ", " : "");
    if (name && strncmp(name, "cap_", 4) == 0)
      for (const char *p = name; *p; p++)
        putchar(toupper((unsigned char)*p));
    else
      printf("CAP_%d", c);
    putchar('"');
  }
  printf("],\n");
}

int cmd_features(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  printf("{\n"
         "  \"ociVersionMin\": \"1.0.0\",\n"
         "  \"ociVersionMax\": \"1.2.0\",\n"
         "  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", \"startContainer\","
         " \"poststart\", \"poststop\"],\n"
         "  \"mountOptions\": [\"async\", \"atime\", \"bind\", \"defaults\", \"dev\", \"diratime\","
         " \"dirsync\", \"exec\", \"loud\", \"mand\", \"noatime\", \"nodev\", \"nodiratime\","
         " \"noexec\", \"nomand\", \"norelatime\", \"nostrictatime\", \"nosuid\", \"private\","
         " \"rbind\", \"relatime\", \"remount\", \"ro\", \"rprivate\", \"rshared\", \"rslave\","
         " \"runbindable\", \"rw\", \"shared\", \"silent\", \"slave\", \"strictatime\", \"suid\","
         " \"sync\", \"unbindable\"],\n"
         "  \"linux\": {\n"
         "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"user\","
         " \"time\", \"uts\"],\n");
  print_capabilities();
  printf(
      "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": true, \"systemdUser\": false},\n"
      "    \"seccomp\": {\"enabled\": true, \"actions\": [\"SCMP_ACT_ALLOW\", \"SCMP_ACT_ERRNO\","
      " \"SCMP_ACT_KILL\", \"SCMP_ACT_KILL_PROCESS\", \"SCMP_ACT_KILL_THREAD\", \"SCMP_ACT_LOG\","
      " \"SCMP_ACT_NOTIFY\", \"SCMP_ACT_TRACE\", \"SCMP_ACT_TRAP\"],"
      " \"operators\": [\"SCMP_CMP_EQ\", \"SCMP_CMP_GE\", \"SCMP_CMP_GT\", \"SCMP_CMP_LE\","
      " \"SCMP_CMP_LT\", \"SCMP_CMP_MASKED_EQ\", \"SCMP_CMP_NE\"],"
      " \"archs\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X32\","
      " \"SCMP_ARCH_AARCH64\", \"SCMP_ARCH_ARM\"]},\n"
      "    \"apparmor\": {\"enabled\": true},\n" /* built in; applied where the host runs it */
      "    \"selinux\": {\"enabled\": true}\n"
      "  }\n"
      "}\n");
  return 0;
}
