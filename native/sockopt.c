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
 *   sendFile(outFd: number, inFd: number, offset: number, count: number): number
 *     One sendfile(2) from a file to a (non-blocking) TCP socket: the kernel moves the bytes, no
 *     copy through JavaScript. Returns the bytes sent, or -1 when the socket is full (EAGAIN:
 *     the caller waits for it to drain). Serves /assets/ (kernels, initrds) the way nginx does.
 * All throw an Error whose message carries the errno text.
 */
#include <errno.h>
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

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM ? "EPERM" : "ESOCKOPT", msg);
  return NULL;
}

static napi_value bind_to_device(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
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
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
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
  napi_typedarray_type ttype;
  napi_value abuf;
  size_t boff;
  if (napi_get_typedarray_info(env, argv[2], &ttype, &dlen, &data, &abuf, &boff) != napi_ok ||
      ttype != napi_uint8_array || dlen == 0) {
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
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_value_int32(env, argv[1], &size) != napi_ok || size < 0 || size > 65507) {
    napi_throw_type_error(env, NULL, "setUdpSegment(fd, size) needs a descriptor and a size 0..65507");
    return NULL;
  }
  int v = size;
  if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof v) != 0)
    return throw_errno(env, "setsockopt(UDP_SEGMENT)", errno);
  return NULL;
}

static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t out_fd, in_fd;
  int64_t offset, count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int32(env, argv[0], &out_fd) != napi_ok || out_fd < 0 ||
      napi_get_value_int32(env, argv[1], &in_fd) != napi_ok || in_fd < 0 ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || offset < 0 ||
      napi_get_value_int64(env, argv[3], &count) != napi_ok || count < 0) {
    napi_throw_type_error(env, NULL, "sendFile(outFd, inFd, offset, count) needs descriptors and sizes");
    return NULL;
  }
  off_t off = (off_t)offset;
  ssize_t n;
  do {
    n = sendfile(out_fd, in_fd, &off, (size_t)count);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n = -1;
  else if (n < 0) return throw_errno(env, "sendfile", errno);
  napi_value result;
  napi_create_int64(env, (int64_t)n, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "bindToDevice", NAPI_AUTO_LENGTH, bind_to_device, NULL, &fn);
  napi_set_named_property(env, exports, "bindToDevice", fn);
  napi_create_function(env, "sendIcmp6Multicast", NAPI_AUTO_LENGTH, send_icmp6_multicast, NULL, &fn);
  napi_set_named_property(env, exports, "sendIcmp6Multicast", fn);
  napi_create_function(env, "setUdpSegment", NAPI_AUTO_LENGTH, set_udp_segment, NULL, &fn);
  napi_set_named_property(env, exports, "setUdpSegment", fn);
  napi_create_function(env, "sendFile", NAPI_AUTO_LENGTH, send_file, NULL, &fn);
  napi_set_named_property(env, exports, "sendFile", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
