/*
 * rcvbuf.so — an LD_PRELOAD shim for the load generator (perfdhcp): every socket it opens
 * gets a receive buffer of RCVBUF_BYTES, set with SO_RCVBUFFORCE (socket(7): as root, past
 * net.core.rmem_max). perfdhcp plays thousands of clients on one socket, so the replies that
 * thousands of real clients would each queue in a socket of their own queue in one, whose
 * default size (net.core.rmem_default, ~208 KiB: a few hundred small datagrams) overflows
 * whenever perfdhcp is off the CPU for a moment. That buffer is the harness's, not the
 * server's, and net.core.rmem_default cannot be raised inside a network namespace on this
 * kernel (EINVAL) without changing the host: so the shim raises it for perfdhcp's sockets
 * alone. bench/dhcp.sh builds it and preloads it for every server alike (PERF_RCVBUF).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  int fd = real(domain, type, protocol);
  const char *want = getenv("RCVBUF_BYTES");
  if (fd >= 0 && want && (domain == AF_INET || domain == AF_PACKET)) {
    int n = atoi(want);
    if (n > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof n) != 0)
      perror("rcvbuf.so: setsockopt(SO_RCVBUFFORCE)");
  }
  return fd;
}
