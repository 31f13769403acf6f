/* Test driver for tests/integration/test_cri_streaming.py (not a unit test): the streaming
 * server of src/cri/stream-*.c over a stand-in for the process side (src/sandbox/stream.h)
 * that runs HOST processes and connects to HOST ports, so the protocols (HTTP upgrade,
 * SPDY/3.1, WebSocket, remotecommand, portforward, tokens, timeouts) are tested apart from
 * containers. Attach runs `cat` (a "container" echoing its stdin).
 *
 * Usage: cri-stream-tool [CREATION_TIMEOUT_MS [IDLE_TIMEOUT_MS [TOKEN_TTL_MS]]]
 * Reads commands on stdin, one per line, answers one line each:
 *   exec TTY IN OUT ERR ARG...   -> URL        (flags 0/1)
 *   attach TTY IN OUT ERR        -> URL
 *   portforward [PORT...]        -> URL
 *   procs                        -> number of processes started and not yet reaped */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "cri/stream-server.h"
#include "sandbox/stream.h"

static volatile int live_procs;

struct fake_proc {
  struct mascri_stream_proc pub;
  pid_t pid;
  int master;
  bool reaped;
  int code;
};

static void nonblock(int fd)
{
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int spawn(char *const *argv, const struct mascri_stream_opts *o,
                 struct mascri_stream_proc **out, mascri_error_t *err)
{
  struct fake_proc *p = xmalloc0(sizeof(*p));
  p->pub.stdin_fd = p->pub.stdout_fd = p->pub.stderr_fd = p->pub.done_fd = -1;
  p->master = -1;
  int in[2] = {-1, -1}, o1[2] = {-1, -1}, e[2] = {-1, -1}, slave = -1;
  if (o->tty) {
    if (openpty(&p->master, &slave, NULL, NULL, NULL) < 0)
      return mascri_make_error(err, errno, "openpty");
  } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o1, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
    return mascri_make_error(err, errno, "pipe");
  }
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (o->tty) {
      setsid();
      ioctl(slave, TIOCSCTTY, 0);
      dup2(slave, 0);
      dup2(slave, 1);
      dup2(slave, 2);
    } else {
      dup2(in[0], 0);
      dup2(o1[1], 1);
      dup2(e[1], 2);
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  if (o->tty) {
    close(slave);
    fcntl(p->master, F_SETFD, FD_CLOEXEC);
    nonblock(p->master);
    p->pub.stdout_fd = p->master;
    p->pub.stdin_fd = o->in ? fcntl(p->master, F_DUPFD_CLOEXEC, 0) : -1;
  } else {
    close(in[0]);
    close(o1[1]);
    close(e[1]);
    nonblock(in[1]);
    nonblock(o1[0]);
    nonblock(e[0]);
    if (o->in)
      p->pub.stdin_fd = in[1];
    else
      close(in[1]);
    p->pub.stdout_fd = o1[0];
    p->pub.stderr_fd = e[0];
  }
  p->pid = pid;
  p->pub.done_fd = (int)syscall(SYS_pidfd_open, pid, 0);
  __atomic_add_fetch(&live_procs, 1, __ATOMIC_SEQ_CST);
  *out = &p->pub;
  return 0;
}

int mascri_containers_exec_stream(struct mascri_containers *ctrs, const char *id, char *const *argv,
                                  const struct mascri_stream_opts *o,
                                  struct mascri_stream_proc **out, mascri_error_t *err)
{
  if (strcmp(id, "missing") == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "container %s not found", id);
  return spawn(argv, o, out, err);
}

int mascri_containers_attach(struct mascri_containers *ctrs, const char *id,
                             const struct mascri_stream_opts *o, struct mascri_stream_proc **out,
                             mascri_error_t *err)
{
  char *argv[] = {"cat", NULL};
  return spawn(argv, o, out, err);
}

int mascri_stream_proc_resize(struct mascri_stream_proc *pub, unsigned short width,
                              unsigned short height, mascri_error_t *err)
{
  struct fake_proc *p = (struct fake_proc *)pub;
  struct winsize ws = {.ws_row = height, .ws_col = width};
  if (p->master >= 0 && ioctl(p->master, TIOCSWINSZ, &ws) < 0)
    return mascri_make_error(err, errno, "TIOCSWINSZ");
  return 0;
}

void mascri_stream_proc_close_stdin(struct mascri_stream_proc *pub)
{
  if (pub->stdin_fd >= 0 && pub->stdin_fd != pub->stdout_fd) {
    struct fake_proc *p = (struct fake_proc *)pub;
    if (p->master >= 0) {
      /* a tty: EOF is ^D */
      if (write(pub->stdin_fd, "\x04", 1) < 0) {
      }
    }
    close(pub->stdin_fd);
    pub->stdin_fd = -1;
  }
}

int mascri_stream_proc_result(struct mascri_stream_proc *pub, int *exit_code)
{
  struct fake_proc *p = (struct fake_proc *)pub;
  if (!p->reaped) {
    int st;
    if (waitpid(p->pid, &st, WNOHANG) != p->pid)
      return 0;
    p->reaped = true;
    p->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    __atomic_sub_fetch(&live_procs, 1, __ATOMIC_SEQ_CST);
  }
  *exit_code = p->code;
  return 1;
}

void mascri_stream_proc_free(struct mascri_stream_proc *pub)
{
  struct fake_proc *p = (struct fake_proc *)pub;
  if (!p->reaped) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    __atomic_sub_fetch(&live_procs, 1, __ATOMIC_SEQ_CST);
  }
  int fds[] = {pub->stdin_fd, pub->stdout_fd, pub->stderr_fd, pub->done_fd};
  for (size_t i = 0; i < 4; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(p);
}

int mascri_pods_port_connect(struct mascri_pods *pods, const char *pod_id, uint16_t port,
                             mascri_error_t *err)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    int e = errno;
    close(fd);
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, e, "connect to port %u", port);
  }
  nonblock(fd);
  return fd;
}

static void command(struct mascri_stream_server *srv, char *line)
{
  _cleanup_strv_ char **w = mascri_strv_split(line, ' ');
  size_t n = mascri_strv_length(w);
  if (n == 0)
    return;
  if (strcmp(w[0], "procs") == 0) {
    printf("%d\n", __atomic_load_n(&live_procs, __ATOMIC_SEQ_CST));
    return;
  }
  struct mascri_stream_req *r = xmalloc0(sizeof(*r));
  r->id = xstrdup("fake");
  if (strcmp(w[0], "portforward") == 0) {
    r->kind = MASCRI_STREAM_PORTFORWARD;
    r->n_ports = n - 1;
    r->ports = xcalloc(n, sizeof(uint16_t));
    for (size_t i = 1; i < n; i++)
      r->ports[i - 1] = (uint16_t)atoi(w[i]);
  } else if (n >= 5) {
    r->kind = strcmp(w[0], "exec") == 0 ? MASCRI_STREAM_EXEC : MASCRI_STREAM_ATTACH;
    r->tty = w[1][0] == '1';
    r->in = w[2][0] == '1';
    r->out = w[3][0] == '1';
    r->err = w[4][0] == '1';
    r->cmd = mascri_strv_dup(w + 5);
  }
  char *url = NULL;
  mascri_error_t err = NULL;
  if (mascri_stream_server_url(srv, r, &url, &err) < 0) {
    printf("error %s\n", mascri_error_message(&err));
    mascri_error_release(&err);
    return;
  }
  printf("%s\n", url);
  free(url);
}

int main(int argc, char **argv)
{
  signal(SIGPIPE, SIG_IGN);
  struct mascri_stream_server_config cfg = {.address = "127.0.0.1"};
  if (argc > 1)
    cfg.creation_timeout_ms = strtoull(argv[1], NULL, 10);
  if (argc > 2)
    cfg.idle_timeout_ms = strtoull(argv[2], NULL, 10);
  if (argc > 3)
    cfg.token_ttl_ms = strtoull(argv[3], NULL, 10);
  struct mascri_stream_server *srv;
  mascri_error_t err = NULL;
  if (mascri_stream_server_new(&cfg, NULL, NULL, &srv, &err) < 0 ||
      mascri_stream_server_start(srv, &err) < 0) {
    fprintf(stderr, "stream-tool: %s\n", mascri_error_message(&err));
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    line[strcspn(line, "\n")] = '\0';
    command(srv, line);
  }
  free(line);
  mascri_stream_server_free(srv);
  return 0;
}
