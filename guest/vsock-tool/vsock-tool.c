/*
 * A static AF_VSOCK tool for the test kit's guest (busybox has none):
 *   vsock-tool listen PORT     echo server: every connection gets its bytes back
 *   vsock-tool hold PORT       accepts connections and never reads them
 *   vsock-tool send PORT BYTES CONNS
 *                              CONNS connections at once to the host (CID 2) on PORT,
 *                              each writing BYTES of a pattern and checking that the
 *                              same bytes come back (an echo server on the host)
 * Lines on stdout: "vsock-tool listening PORT", "vsock-tool send ok ..." or
 * "vsock-tool send FAIL ...", which the tests wait for on the console.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static uint8_t pattern(uint64_t offset, unsigned seed) {
  return (uint8_t)((offset * 131 + seed * 7 + (offset >> 9)) & 0xff);
}

static int vsock_listen(unsigned port) {
  int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0) {
    perror("vsock-tool: listen");
    exit(1);
  }
  printf("vsock-tool listening %u\n", port);
  fflush(stdout);
  return fd;
}

static void echo(int fd) {
  static char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(fd, buffer + done, (size_t)(n - done));
      if (w <= 0) _exit(1);
      done += w;
    }
  }
  shutdown(fd, SHUT_WR);
  close(fd);
}

static void serve(unsigned port, int hold) {
  int listener = vsock_listen(port);
  signal(SIGCHLD, SIG_IGN);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    if (hold) continue; /* kept open, never read */
    if (fork() == 0) {
      close(listener);
      echo(fd);
      _exit(0);
    }
    close(fd);
  }
}

/* One connection: writes `bytes` and reads them back at the same time; 0 when all matched. */
static int send_one(unsigned port, uint64_t bytes, unsigned seed) {
  int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
  /*
   * Linux gives up on a vsock connect after 2 s. Inside the nested VM of the tests, with
   * 64 connects at once and another VM busy beside it, some answers took longer (errno
   * 110 for 17 of 64 on 2026-12-05); on hardware they take milliseconds.
   */
  struct timeval connect_timeout = {.tv_sec = 60};
  if (fd >= 0) setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &connect_timeout, sizeof(connect_timeout));
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    printf("vsock-tool send FAIL connect seed=%u errno=%d\n", seed, errno);
    return 1;
  }
  static uint8_t out[32768], in[32768];
  uint64_t sent = 0, received = 0;
  int writing = 1;
  while (received < bytes) {
    struct pollfd p = {.fd = fd, .events = POLLIN | (writing ? POLLOUT : 0)};
    if (poll(&p, 1, 60000) <= 0) {
      printf("vsock-tool send FAIL stalled seed=%u sent=%llu received=%llu\n", seed, (unsigned long long)sent, (unsigned long long)received);
      return 1;
    }
    if (writing && (p.revents & POLLOUT)) {
      size_t n = bytes - sent < sizeof(out) ? (size_t)(bytes - sent) : sizeof(out);
      for (size_t i = 0; i < n; i++) out[i] = pattern(sent + i, seed);
      ssize_t w = send(fd, out, n, MSG_DONTWAIT);
      if (w > 0) sent += (uint64_t)w;
      if (sent == bytes) {
        shutdown(fd, SHUT_WR);
        writing = 0;
      }
    }
    if (p.revents & (POLLIN | POLLHUP)) {
      ssize_t r = recv(fd, in, sizeof(in), MSG_DONTWAIT);
      if (r == 0) break;
      for (ssize_t i = 0; i < r; i++) {
        if (in[i] != pattern(received + (uint64_t)i, seed)) {
          printf("vsock-tool send FAIL mismatch seed=%u offset=%llu\n", seed, (unsigned long long)(received + (uint64_t)i));
          return 1;
        }
      }
      if (r > 0) received += (uint64_t)r;
    }
  }
  close(fd);
  if (received != bytes) {
    printf("vsock-tool send FAIL short seed=%u received=%llu of %llu\n", seed, (unsigned long long)received, (unsigned long long)bytes);
    return 1;
  }
  return 0;
}

static int send_many(unsigned port, uint64_t bytes, unsigned conns) {
  for (unsigned i = 0; i < conns; i++) {
    if (fork() == 0) {
      fflush(stdout);
      _exit(send_one(port, bytes, i));
    }
  }
  unsigned failed = 0;
  for (unsigned i = 0; i < conns; i++) {
    int status = 0;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  if (failed == 0) printf("vsock-tool send ok conns=%u bytes=%llu\n", conns, (unsigned long long)bytes);
  else printf("vsock-tool send FAIL %u of %u connections\n", failed, conns);
  fflush(stdout);
  return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "listen") == 0) serve((unsigned)strtoul(argv[2], NULL, 10), 0);
  if (argc == 3 && strcmp(argv[1], "hold") == 0) serve((unsigned)strtoul(argv[2], NULL, 10), 1);
  if (argc == 5 && strcmp(argv[1], "send") == 0) {
    return send_many((unsigned)strtoul(argv[2], NULL, 10), strtoull(argv[3], NULL, 10), (unsigned)strtoul(argv[4], NULL, 10));
  }
  fprintf(stderr, "usage: vsock-tool listen PORT | hold PORT | send PORT BYTES CONNS\n");
  return 2;
}
