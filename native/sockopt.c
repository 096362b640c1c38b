/*
 * metalseed native socket options.
 *
 * Node's dgram has no SO_BINDTODEVICE (socket(7)). A DHCP server on a multi-homed seed must
 * receive broadcasts only from its provisioning link and send replies out of that link, even
 * when the default route points elsewhere; a socket bound to the interface's address receives
 * no broadcasts at all, and one bound to 0.0.0.0 cannot tell the links apart. Binding the
 * wildcard socket to the device solves both (RFC 2131 section 4.1 replies to 255.255.255.255).
 *
 * Exports:
 *   bindToDevice(fd: number, ifname: string): void
 *   sendIcmp6Multicast(ifname: string, group: string, payload: Uint8Array): void
 *     Sends one ICMPv6 message (e.g. a Router Advertisement built in TypeScript) to a link-local
 *     multicast group out of `ifname`, with hop limit 255 as RFC 4861 section 6.1.2 requires.
 *     Node has no raw sockets; the kernel fills in the ICMPv6 checksum (RFC 3542 section 3.1).
 *   setUdpSegment(fd: number, size: number): void
 *     UDP generic segmentation offload (UDP_SEGMENT, udp(7), Linux >= 4.18): one send of a
 *     buffer longer than `size` leaves as consecutive datagrams of `size` bytes (the last one
 *     shorter). A TFTP window (RFC 7440) of DATA packets then costs one send instead of one
 *     per block; sends up to `size` bytes are unchanged. 0 turns it off.
 *   sendFileAsync(outFd, inFd, offset, count, done(err: string | null, sent, waits)): number
 *     Sends `count` bytes of a file from `offset` to a non-blocking TCP socket with sendfile(2),
 *     driven by the socket's writability on Node's own event loop (a uv_poll on a dup(2) of the
 *     descriptor: libuv watches one descriptor number once, the dup is a second number for the
 *     same socket). No byte passes through JavaScript and no thread waits: each writable event
 *     costs one wake-up and sendfile calls until the socket is full again, as in nginx. `done`
 *     runs once, on the loop, with the bytes sent and how often the socket was full. Returns an
 *     id for sendFileCancel.
 *   sendFileCancel(id: number): void
 *     Stops a transfer (the socket closed, the server shuts down); `done` gets "cancelled". An
 *     id that already finished is ignored.
 * All throw an Error whose message carries the errno text.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <stdlib.h>
#include <uv.h>
#include "napi_util.h"

static napi_value throw_errno(napi_env env, const char *what, int err) {
  return nu_throw_errno(env, err == EPERM ? "EPERM" : "ESOCKOPT", what, err);
}

static napi_value bind_to_device(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!nu_args(env, info, 2, argv)) {
    napi_throw_type_error(env, NULL, "bindToDevice(fd, ifname) needs two arguments");
    return NULL;
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return NULL;
  }
  char ifname[IF_NAMESIZE + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], ifname, sizeof ifname, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "ifname must be a string");
    return NULL;
  }
  if (len == 0 || len >= IF_NAMESIZE) {
    napi_throw_range_error(env, NULL, "ifname must be 1..15 characters (IFNAMSIZ)");
    return NULL;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)len + 1) != 0)
    return throw_errno(env, "setsockopt(SO_BINDTODEVICE)", errno);
  return NULL;
}

static napi_value send_icmp6_multicast(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!nu_args(env, info, 3, argv)) {
    napi_throw_type_error(env, NULL, "sendIcmp6Multicast(ifname, group, payload) needs three arguments");
    return NULL;
  }
  char ifname[IF_NAMESIZE + 1], group[INET6_ADDRSTRLEN + 1];
  size_t len = 0, glen = 0;
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0 ||
      len >= IF_NAMESIZE) {
    napi_throw_type_error(env, NULL, "ifname must be a 1..15 character string");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[1], group, sizeof group, &glen) != napi_ok) {
    napi_throw_type_error(env, NULL, "group must be a string");
    return NULL;
  }
  void *data = NULL;
  size_t dlen = 0;
  if (!nu_typed_array(env, argv[2], napi_uint8_array, &data, &dlen) || dlen == 0) {
    napi_throw_type_error(env, NULL, "payload must be a non-empty Uint8Array");
    return NULL;
  }
  struct sockaddr_in6 dst;
  memset(&dst, 0, sizeof dst);
  dst.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, group, &dst.sin6_addr) != 1) {
    napi_throw_range_error(env, NULL, "group is not an IPv6 address");
    return NULL;
  }
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, "if_nametoindex", errno);
  dst.sin6_scope_id = ifindex;
  int fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  if (fd < 0) return throw_errno(env, "socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)", errno);
  int hops = 255;
  int err = 0;
  const char *what = NULL;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0) what = "IPV6_MULTICAST_HOPS";
  else if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) != 0) what = "IPV6_MULTICAST_IF";
  else if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)len + 1) != 0) what = "SO_BINDTODEVICE";
  else if (sendto(fd, data, dlen, 0, (struct sockaddr *)&dst, sizeof dst) < 0) what = "sendto";
  if (what) err = errno;
  close(fd);
  if (what) return throw_errno(env, what, err);
  return NULL;
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libc headers lack it */
#endif

static napi_value set_udp_segment(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, size;
  if (!nu_args(env, info, 2, argv) || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_value_int32(env, argv[1], &size) != napi_ok || size < 0 || size > 65507) {
    napi_throw_type_error(env, NULL, "setUdpSegment(fd, size) needs a descriptor and a size 0..65507");
    return NULL;
  }
  int v = size;
  if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof v) != 0)
    return throw_errno(env, "setsockopt(UDP_SEGMENT)", errno);
  return NULL;
}

/* ---- zero-copy file bodies ---------------------------------------------------------- */

/* Bytes sent per writable event at most, so one fast reader cannot hold the loop. */
#define SEND_PER_WAKE (16 << 20)

typedef struct pump {
  uv_poll_t poll;
  napi_env env;
  napi_ref done;
  napi_async_context ctx;
  struct pump *next;
  int32_t id;
  int sock; /* our dup of the socket */
  int file; /* the caller's, not closed here */
  off_t off, end;
  int64_t sent, waits;
  const char *failure; /* NULL while running and on success */
  int err;
  int closing;
} pump_t;

static pump_t *pumps = NULL; /* running transfers, for sendFileCancel */
static int32_t next_pump_id = 1;

static void pump_closed(uv_handle_t *h) {
  pump_t *p = (pump_t *)h->data;
  close(p->sock);
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[3];
  if (p->failure) {
    char msg[160];
    if (p->err) snprintf(msg, sizeof msg, "%s: %s", p->failure, strerror(p->err));
    else snprintf(msg, sizeof msg, "%s", p->failure);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[0]);
  } else {
    napi_get_null(env, &argv[0]);
  }
  napi_create_int64(env, p->sent, &argv[1]);
  napi_create_int64(env, p->waits, &argv[2]);
  napi_status st = nu_callback(env, p->done, p->ctx, 3, argv); /* an exception: uncaught */
  if (st != napi_ok && st != napi_pending_exception)
    napi_fatal_error("sendFileAsync", NAPI_AUTO_LENGTH, "the completion callback could not be called", NAPI_AUTO_LENGTH);
  nu_drop_callback(env, p->done, p->ctx);
  napi_close_handle_scope(env, scope);
  free(p);
}

static void pump_finish(pump_t *p, const char *failure, int err) {
  if (p->closing) return;
  p->closing = 1;
  p->failure = failure;
  p->err = err;
  for (pump_t **q = &pumps; *q; q = &(*q)->next) {
    if (*q == p) {
      *q = p->next;
      break;
    }
  }
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, pump_closed);
}

static void pump_writable(uv_poll_t *h, int status, int events) {
  pump_t *p = (pump_t *)h->data;
  (void)events;
  (void)status; /* an error on the socket (peer reset, hang-up): sendfile below says which */
  size_t budget = SEND_PER_WAKE;
  while (p->off < p->end && budget > 0) {
    size_t want = (size_t)(p->end - p->off);
    if (want > budget) want = budget;
    ssize_t n = sendfile(p->sock, p->file, &p->off, want);
    if (n > 0) {
      p->sent += n;
      budget -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      p->waits++;
      return; /* the next writable event goes on */
    }
    if (n == 0) return pump_finish(p, "the file is shorter than its announced length", 0);
    return pump_finish(p, "sendfile", errno);
  }
  if (p->off >= p->end) pump_finish(p, NULL, 0);
}

/* A pump that never started: its descriptor and memory go once libuv let go of the handle. */
static void poll_freed(uv_handle_t *h) {
  pump_t *p = (pump_t *)h->data;
  close(p->sock);
  free(p);
}

static napi_value send_file_async(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t out_fd, in_fd;
  int64_t offset, count;
  napi_valuetype t = napi_undefined;
  if (!nu_args(env, info, 5, argv) || napi_get_value_int32(env, argv[0], &out_fd) != napi_ok || out_fd < 0 ||
      napi_get_value_int32(env, argv[1], &in_fd) != napi_ok || in_fd < 0 ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || offset < 0 ||
      napi_get_value_int64(env, argv[3], &count) != napi_ok || count < 0 ||
      napi_typeof(env, argv[4], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "sendFileAsync(outFd, inFd, offset, count, done) needs descriptors, sizes and a callback");
    return NULL;
  }
  uv_loop_t *loop = nu_event_loop(env, "sendFileAsync: no event loop");
  if (!loop) return NULL;
  pump_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "sendFileAsync", ENOMEM);
  p->sock = fcntl(out_fd, F_DUPFD_CLOEXEC, 0);
  if (p->sock < 0) {
    int err = errno;
    free(p);
    return throw_errno(env, "dup", err);
  }
  int rc = uv_poll_init(loop, &p->poll, p->sock);
  if (rc != 0) {
    close(p->sock);
    free(p);
    napi_throw_error(env, "ESOCKOPT", uv_strerror(rc));
    return NULL;
  }
  p->poll.data = p;
  if (nu_keep_callback(env, argv[4], "metalseed.sendFile", &p->done, &p->ctx) != napi_ok) {
    uv_close((uv_handle_t *)&p->poll, poll_freed);
    napi_throw_error(env, "ESOCKOPT", "sendFileAsync: cannot keep the callback");
    return NULL;
  }
  p->env = env;
  p->file = in_fd;
  p->off = (off_t)offset;
  p->end = (off_t)(offset + count);
  p->id = next_pump_id++;
  if (next_pump_id <= 0) next_pump_id = 1;
  rc = uv_poll_start(&p->poll, UV_WRITABLE | UV_DISCONNECT, pump_writable);
  if (rc != 0) {
    nu_drop_callback(env, p->done, p->ctx);
    uv_close((uv_handle_t *)&p->poll, poll_freed);
    napi_throw_error(env, "ESOCKOPT", uv_strerror(rc));
    return NULL;
  }
  p->next = pumps;
  pumps = p;
  return nu_int32(env, p->id);
}

static napi_value send_file_cancel(napi_env env, napi_callback_info info) {
  int32_t id;
  if (!nu_arg_int32(env, info, &id, "sendFileCancel(id) needs the id sendFileAsync returned")) return NULL;
  for (pump_t *p = pumps; p; p = p->next) {
    if (p->id == id) {
      pump_finish(p, "cancelled", 0);
      break;
    }
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  nu_export(env, exports, "bindToDevice", bind_to_device);
  nu_export(env, exports, "sendIcmp6Multicast", send_icmp6_multicast);
  nu_export(env, exports, "setUdpSegment", set_udp_segment);
  nu_export(env, exports, "sendFileAsync", send_file_async);
  nu_export(env, exports, "sendFileCancel", send_file_cancel);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
