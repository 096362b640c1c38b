/*
 * metalseed DHCP socket batching (its own addon, build/Release/dhcp_batch.node).
 *
 * libuv reads a UDP socket at most 32 datagrams per event-loop turn and calls JavaScript once
 * per datagram. In a boot storm one turn also carries thousands of TFTP ACKs and HTTP
 * requests, so the DHCP listener falls behind and PXE ROMs time out (docs/benchmarks-storm.md).
 * Here the DHCP socket is watched by a uv_poll handle of its own (on a dup of the descriptor,
 * so it never shares libuv's watcher slot with Node's dgram handle, which stops reading), and
 * each readable event reads the socket with one recvmmsg(2) of at most CHUNK datagrams
 * (level-triggered: the rest is read on the next turn). The cap keeps the
 * other events of the loop going: draining a backlog of thousands at once held the lease
 * syncs' completions, and so the ACKs, past perfdhcp's 1-s drop time, and with 256 a turn
 * the whole seed still lost more under perfdhcp than with dgram's 32; with 64 it does not
 * (docs/benchmarks.md, DHCP). Each recvmmsg chunk reaches JavaScript as one Buffer: one call per chunk
 * instead of one per datagram. Replies leave with sendmmsg(2), one system call per group.
 * A datagram longer than SLOT (no DHCP message is) does not fit: recvmmsg flags it MSG_TRUNC
 * and, asked with MSG_TRUNC, gives its real length (recv(2)). It still reaches JavaScript, as
 * a record with that length and no bytes, so that its drop is counted, not silent.
 *
 * Record layout (both directions), 4-byte aligned:
 *   u32 IPv4 address (network order) | u16 port (network order) | u16 length | bytes, padded
 * A received record whose length exceeds SLOT stands for a datagram that did not fit: its
 * length is the datagram's and no bytes follow the header.
 *
 * Exports:
 *   slot: number   SLOT, the longest datagram a received record carries.
 *   start(fd: number, onBatch: (records: Buffer, count: number) => void): number
 *     Starts reading `fd` (a bound, non-blocking UDP/IPv4 socket); returns a reader id.
 *   stop(id: number): void
 *     Stops and closes the reader's descriptor (the caller's `fd` stays open).
 *   sendMany(fd: number, records: Uint8Array, count: number): number
 *     Sends `count` records with sendmmsg; returns how many left (fewer when the socket is
 *     full or an error stopped it after some left: the caller sends the rest another way).
 *     Throws when the first message fails with another error than EAGAIN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>
#include "napi_util.h"

#define CHUNK 64  /* datagrams per recvmmsg / sendmmsg call, and per readable event */
#define SLOT 2048 /* bytes per received datagram (DHCP: 576 minimum, MTU 1500 at most) */
#define HDR 8

typedef struct reader {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  struct reader *next;
  int32_t id;
  int fd; /* our dup */
  int closing;
  struct mmsghdr msgs[CHUNK]; /* set up once, in start: each points at its slot and `from` */
  struct iovec iov[CHUNK];
  struct sockaddr_in from[CHUNK];
  unsigned char *slots; /* CHUNK * SLOT */
} reader_t;

static reader_t *readers = NULL;
static int32_t next_id = 1;

static size_t padded(size_t n) { return (n + 3) & ~(size_t)3; }

/* The length of datagram i, and how many of its bytes its record carries (0: it did not fit). */
static size_t datagram_len(const reader_t *r, int i, size_t *carried) {
  size_t len = r->msgs[i].msg_len;
  if (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
    *carried = 0;
    if (len > 0xffff) len = 0xffff; /* the u16 field; UDP over IPv4 carries at most 65507 */
    return len > SLOT ? len : SLOT + 1; /* the real length (MSG_TRUNC asked); beyond SLOT anyway */
  }
  *carried = len;
  return len;
}

/* Delivers one chunk of `n` datagrams to JavaScript, packed straight into the Buffer it gets
 * (an exception thrown there becomes an uncaught one: nu_callback). */
static void deliver(reader_t *r, int n) {
  size_t size = 0, carried;
  for (int i = 0; i < n; i++) {
    datagram_len(r, i, &carried);
    size += HDR + padded(carried);
  }
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value buf, count;
  void *data;
  if (napi_create_buffer(env, size, &data, &buf) == napi_ok && napi_create_int32(env, n, &count) == napi_ok) {
    unsigned char *rec = data;
    for (int i = 0; i < n; i++) {
      size_t len = datagram_len(r, i, &carried);
      uint32_t addr = r->from[i].sin_addr.s_addr; /* network order */
      uint16_t port = r->from[i].sin_port;         /* network order */
      uint16_t blen = htons((uint16_t)len);
      memcpy(rec, &addr, 4);
      memcpy(rec + 4, &port, 2);
      memcpy(rec + 6, &blen, 2);
      memcpy(rec + HDR, r->slots + (size_t)i * SLOT, carried);
      memset(rec + HDR + carried, 0, padded(carried) - carried);
      rec += HDR + padded(carried);
    }
    napi_value argv[2] = {buf, count};
    /* microtasks and nextTicks run when the call returns, as after dgram's */
    nu_callback(env, r->cb, r->ctx, 2, argv);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  reader_t *r = (reader_t *)h->data;
  (void)events;
  if (r->closing || status < 0) return;
  for (int i = 0; i < CHUNK; i++) r->msgs[i].msg_hdr.msg_namelen = sizeof r->from[i]; /* in/out */
  /* MSG_TRUNC: a datagram longer than SLOT reports its real length in msg_len (recv(2)) */
  int n = recvmmsg(r->fd, r->msgs, CHUNK, MSG_DONTWAIT | MSG_TRUNC, NULL);
  if (n > 0) deliver(r, n); /* n < 0: EAGAIN (drained) or a per-packet error (ECONNREFUSED...) */
}

/* Frees a reader whose poll handle is closed or was never started. */
static void reader_free(reader_t *r) {
  if (r->fd >= 0) close(r->fd);
  free(r->slots);
  free(r);
}

static void on_closed(uv_handle_t *h) {
  reader_t *r = (reader_t *)h->data;
  nu_drop_callback(r->env, r->cb, r->ctx);
  reader_free(r);
}

static reader_t *find(int32_t id, reader_t ***link) {
  for (reader_t **p = &readers; *p; p = &(*p)->next)
    if ((*p)->id == id) {
      if (link) *link = p;
      return *p;
    }
  return NULL;
}

static napi_value start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  napi_valuetype t;
  if (!nu_args(env, info, 2, argv) || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "start(fd, onBatch) needs a descriptor and a function");
    return NULL;
  }
  uv_loop_t *loop = nu_event_loop(env, "no event loop");
  if (!loop) return NULL;
  reader_t *r = calloc(1, sizeof *r);
  if (!r) return nu_throw_errno(env, "EDHCPBATCH", "calloc", ENOMEM);
  r->env = env;
  r->slots = malloc((size_t)CHUNK * SLOT);
  r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* not inherited by the seed's child processes */
  if (!r->slots || r->fd < 0) {
    int err = r->fd < 0 ? errno : ENOMEM;
    reader_free(r);
    return nu_throw_errno(env, "EDHCPBATCH", "dup", err);
  }
  for (int i = 0; i < CHUNK; i++) {
    r->iov[i].iov_base = r->slots + (size_t)i * SLOT;
    r->iov[i].iov_len = SLOT;
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->from[i];
  }
  if (nu_keep_callback(env, argv[1], "metalseed.dhcpBatch", &r->cb, &r->ctx) != napi_ok) {
    reader_free(r);
    napi_throw_error(env, NULL, "cannot keep the callback");
    return NULL;
  }
  int err = uv_poll_init(loop, &r->poll, r->fd);
  r->poll.data = r;
  if (err == 0) {
    err = uv_poll_start(&r->poll, UV_READABLE, on_readable);
    if (err != 0) uv_close((uv_handle_t *)&r->poll, on_closed);
  } else {
    nu_drop_callback(env, r->cb, r->ctx);
    reader_free(r);
  }
  if (err != 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "uv_poll on the DHCP socket: %s", uv_strerror(err));
    napi_throw_error(env, "EDHCPBATCH", msg);
    return NULL;
  }
  r->id = next_id++;
  r->next = readers;
  readers = r;
  return nu_int32(env, r->id);
}

static napi_value stop(napi_env env, napi_callback_info info) {
  int32_t id;
  if (!nu_arg_int32(env, info, &id, "stop(id) needs a reader id")) return NULL;
  reader_t **link;
  reader_t *r = find(id, &link);
  if (!r || r->closing) return NULL;
  *link = r->next;
  r->closing = 1;
  uv_poll_stop(&r->poll);
  uv_close((uv_handle_t *)&r->poll, on_closed);
  return NULL;
}

static napi_value send_many(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, count;
  void *data = NULL;
  size_t len = 0;
  if (!nu_args(env, info, 3, argv) || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      !nu_typed_array(env, argv[1], napi_uint8_array, &data, &len) ||
      napi_get_value_int32(env, argv[2], &count) != napi_ok || count < 0) {
    napi_throw_type_error(env, NULL, "sendMany(fd, records, count) needs a descriptor, a Uint8Array and a count");
    return NULL;
  }
  struct mmsghdr msgs[CHUNK];
  struct iovec iov[CHUNK];
  struct sockaddr_in to[CHUNK];
  const unsigned char *p = data, *end = p + len;
  int32_t sent = 0;
  while (sent < count) {
    int n = 0;
    const unsigned char *q = p;
    for (; n < CHUNK && sent + n < count; n++) {
      if (end - q < HDR) break;
      uint16_t blen;
      memcpy(&blen, q + 6, 2);
      size_t dlen = ntohs(blen);
      if ((size_t)(end - q) < HDR + dlen) break;
      memset(&to[n], 0, sizeof to[n]);
      to[n].sin_family = AF_INET;
      memcpy(&to[n].sin_addr.s_addr, q, 4);
      memcpy(&to[n].sin_port, q + 4, 2);
      iov[n].iov_base = (void *)(q + HDR);
      iov[n].iov_len = dlen;
      memset(&msgs[n].msg_hdr, 0, sizeof msgs[n].msg_hdr);
      msgs[n].msg_hdr.msg_name = &to[n];
      msgs[n].msg_hdr.msg_namelen = sizeof to[n];
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      q += HDR + padded(dlen);
    }
    if (n == 0) {
      napi_throw_range_error(env, NULL, "sendMany: records end before count");
      return NULL;
    }
    /* fewer than n sent: an error on message k; the loop retries from there, so it surfaces */
    int k = sendmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT);
    if (k < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
      if (errno == EINTR) continue;
      /* a per-destination error (EHOSTUNREACH, ENETUNREACH...) on the first message: skip it */
      if (errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EACCES || errno == EPERM) {
        k = 1;
      } else if (sent > 0) {
        break; /* the caller sends the rest another way; what left must not leave twice */
      } else {
        return nu_throw_errno(env, "EDHCPBATCH", "sendmmsg", errno);
      }
    }
    for (int i = 0; i < k; i++) p += HDR + padded(iov[i].iov_len);
    sent += k;
  }
  return nu_int32(env, sent);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value slot = nu_int32(env, SLOT);
  napi_property_descriptor props[] = {
      {"slot", NULL, NULL, NULL, NULL, slot, napi_enumerable, NULL},
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
      {"sendMany", NULL, send_many, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
