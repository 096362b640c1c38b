/*
 * metalseed TFTP data pump: the DATA/ACK phase of read transfers on one native thread.
 *
 * A lock-step TFTP transfer (windowsize 1, what every PXE ROM does) is one ACK in and one DATA
 * out per block. Through libuv and a JavaScript callback that costs ~60-80 us of CPU per block
 * and, worse, one event-loop wake-up per block that every other server on the loop (DHCP,
 * HTTP) waits behind. Here one thread runs every transfer's DATA/ACK exchange with epoll, a
 * timer heap and plain syscalls; TypeScript keeps every decision (request decoding, policy,
 * file resolution, option negotiation, admission, stats) and hands over a transfer whose
 * first packet (OACK or DATA 1) is known. The thread reports each finished transfer once,
 * through a thread-safe function.
 *
 * Protocol rules implemented here (the same as src/tftp/transfer.ts):
 *  - each transfer has its own socket, a new TID (RFC 1350 section 4), bound to the server's
 *    address with port 0; it is not connect()ed, so a datagram from another host/port reaches
 *    it and is answered with ERROR 5 without disturbing the transfer (RFC 1350 section 4);
 *    an ERROR is never answered with an ERROR;
 *  - OACK (RFC 2347) is acknowledged by ACK 0; DATA blocks are sent in windows of
 *    `windowsize` blocks (RFC 7440); an ACK for a block inside the window moves the window to
 *    the block after it and a full window is sent from there (RFC 7440 section 4); a duplicate
 *    or older ACK changes nothing (RFC 1123 section 4.2.3.1, the Sorcerer's Apprentice);
 *  - blocks are numbered absolutely from 1, the wire carries the low 16 bits (roll-over to 0);
 *    the window never exceeds 65535 blocks, so the distance from the last ACK is unambiguous;
 *  - a file of n bytes is floor(n / blksize) + 1 blocks (the last one short, maybe empty);
 *  - when the client is silent, the last window (or the OACK) is sent again after
 *    min(timeout * 2^retries, max_timeout); after max_retries retransmissions the transfer ends;
 *  - an ERROR from the client ends the transfer ("aborted").
 * Windows of several blocks leave in one sendmsg with UDP segmentation offload (UDP_SEGMENT,
 * udp(7)) built from iovecs pointing into the file's bytes (no copy); a kernel that refuses it
 * gets sendmmsg instead.
 *
 * Exports:
 *   start(onEnd: (id, outcome, ackedBlocks, reason, afterOack, retransmits, stale, unknownTid,
 *                 malformed, unexpected, ms) => void): void
 *     Once per process: the completion callback. outcome is 'done'|'aborted'|'timeout'|'error'.
 *   transfer(id, bindAddress, device, peerAddress, peerPort, data, fd, size, blksize,
 *            windowsize, timeoutMs, maxTimeoutMs, maxRetries, first, state): number
 *     Opens the transfer's socket (throws on failure) and hands it to the pump thread; returns
 *     the local port. `data` is the whole file (a Uint8Array kept referenced until the end) or
 *     null with `fd` >= 0: a descriptor the pump preads from (the caller closes it after onEnd).
 *     `first` is the OACK packet to send first, or null to start with DATA 1. `state` is an
 *     Int32Array(8) the pump keeps current: [0] = 1 once a valid ACK/ERROR came from the peer,
 *     [1] = blocks acknowledged, [2..5] = packets dropped as stale ACK, unknown TID, malformed,
 *     unexpected opcode, [6] = ms from the start to the last ACK that moved the window,
 *     [7] = retransmissions.
 *   abort(id, message): void
 *     Sends ERROR 0 `message` to the client and ends the transfer with outcome 'error'.
 *   active(): number   transfers handed over and not yet reported.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>
#include "napi_util.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libc headers lack it */
#endif

enum { OP_RRQ = 1, OP_WRQ = 2, OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, OP_OACK = 6 };
enum { OUT_DONE, OUT_ABORTED, OUT_TIMEOUT, OUT_ERROR };
static const char *OUTCOMES[] = {"done", "aborted", "timeout", "error"};

/* Segments per GSO send: UDP_MAX_SEGMENTS of older kernels, and the largest UDP payload. */
#define GSO_MAX_SEGMENTS 64
#define UDP_MAX_PAYLOAD 65507
#define REASON_MAX 600
/* Bytes read at once from a descriptor-backed file (files above the server's memory cache). */
#define READ_AHEAD (64 * 1024)

enum { S_HEARD, S_ACKED, S_STALE, S_UNKNOWN_TID, S_MALFORMED, S_UNEXPECTED, S_PROGRESS_MS, S_RETRANSMITS, S_LEN };

/* Counters JavaScript may read at any time (stats): single writer, relaxed stores. */
#define COUNT(t, i) __atomic_store_n(&(t)->state[i], (t)->state[i] + 1, __ATOMIC_RELAXED)

typedef struct transfer {
  double id;
  int fd;
  struct sockaddr_in peer;
  /* the file: bytes in memory (data) or a descriptor to pread (file_fd) into buf */
  const uint8_t *data;
  int file_fd;
  uint8_t *buf; /* read-ahead: buf_len bytes of the file from buf_off */
  int64_t buf_off, buf_len;
  size_t buf_cap;
  int shrank; /* the file ended before `size`: the transfer ends with an ERROR */
  int64_t size;
  uint32_t blksize, windowsize;
  uint64_t base_ms, max_timeout_ms;
  uint32_t max_retries, retries;
  uint8_t *first; /* the OACK to send first, NULL when none */
  size_t first_len;
  int phase; /* 0 = waiting for ACK 0 of the OACK, 1 = data */
  int64_t total, acked, sent;
  uint64_t started_ns, deadline_ns;
  size_t heap_idx;
  /* shared with JavaScript: [0] heard, [1] acked blocks, then the drop counters
   * [2] stale ACKs, [3] unknown TID, [4] malformed, [5] unexpected opcode, and
   * [6] when an ACK last moved the window (ms since the start, at least 1), [7] retransmissions */
  int32_t *state;
  napi_ref data_ref, state_ref;
  uint8_t *hdr; /* 4 header bytes per block of a window */
  struct transfer *next, *prev; /* list of running transfers (pump thread only) */
  struct transfer *qnext;       /* hand-over queue */
} transfer_t;

typedef struct completion {
  double id;
  int outcome, after_oack;
  int64_t acked;
  uint32_t retransmits, stale, unknown_tid, malformed, unexpected;
  double ms;
  napi_ref data_ref, state_ref;
  char reason[REASON_MAX];
} completion_t;

typedef struct command {
  double id;
  char message[256];
  struct command *next;
} command_t;

static struct {
  napi_env env;
  napi_threadsafe_function tsfn;
  pthread_t thread;
  int started, stopping;
  int epfd, evfd;
  pthread_mutex_t lock;
  transfer_t *queue;  /* new transfers, guarded by lock */
  command_t *aborts;  /* abort requests, guarded by lock */
  transfer_t *running; /* pump thread only */
  transfer_t **heap;   /* pump thread only: min-heap by deadline */
  size_t heap_len, heap_cap;
  int gso_off;         /* the kernel refused UDP_SEGMENT once: sendmmsg from now on */
  uint32_t active;     /* JS thread only: handed over, not yet reported */
  int tsfn_refed;      /* JS thread only */
} P = {.lock = PTHREAD_MUTEX_INITIALIZER, .epfd = -1, .evfd = -1};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- timer heap (pump thread) ---- */

static void heap_swap(size_t a, size_t b) {
  transfer_t *t = P.heap[a];
  P.heap[a] = P.heap[b];
  P.heap[b] = t;
  P.heap[a]->heap_idx = a;
  P.heap[b]->heap_idx = b;
}

static void heap_up(size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (P.heap[p]->deadline_ns <= P.heap[i]->deadline_ns) break;
    heap_swap(i, p);
    i = p;
  }
}

static void heap_down(size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < P.heap_len && P.heap[l]->deadline_ns < P.heap[m]->deadline_ns) m = l;
    if (r < P.heap_len && P.heap[r]->deadline_ns < P.heap[m]->deadline_ns) m = r;
    if (m == i) break;
    heap_swap(i, m);
    i = m;
  }
}

static int heap_push(transfer_t *t) {
  if (P.heap_len == P.heap_cap) {
    size_t cap = P.heap_cap ? P.heap_cap * 2 : 256;
    transfer_t **h = realloc(P.heap, cap * sizeof *h);
    if (!h) return -1;
    P.heap = h;
    P.heap_cap = cap;
  }
  t->heap_idx = P.heap_len;
  P.heap[P.heap_len++] = t;
  heap_up(t->heap_idx);
  return 0;
}

static void heap_remove(transfer_t *t) {
  size_t i = t->heap_idx;
  if (i >= P.heap_len || P.heap[i] != t) return;
  P.heap_len--;
  if (i != P.heap_len) {
    P.heap[i] = P.heap[P.heap_len];
    P.heap[i]->heap_idx = i;
    heap_up(i);
    heap_down(P.heap[i]->heap_idx);
  }
  t->heap_idx = (size_t)-1;
}

/* (Re)arms the retransmission timer: min(timeout * 2^retries, max_timeout). */
static void arm(transfer_t *t) {
  uint64_t ms = t->base_ms;
  for (uint32_t i = 0; i < t->retries && ms < t->max_timeout_ms; i++) ms *= 2;
  if (ms > t->max_timeout_ms) ms = t->max_timeout_ms;
  uint64_t old = t->deadline_ns;
  t->deadline_ns = now_ns() + ms * 1000000ull;
  if (t->deadline_ns >= old) heap_down(t->heap_idx);
  else heap_up(t->heap_idx);
}

/* ---- sending ---- */

static void send_to(int fd, const void *buf, size_t len, const struct sockaddr_in *to) {
  ssize_t n;
  do {
    n = sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof *to);
  } while (n < 0 && errno == EINTR);
  /* Send errors are per datagram (a full buffer, an unreachable host): the retransmission
   * timer recovers, as with dgram, which ignores them too. */
}

static void send_error(int fd, int code, const char *message, const struct sockaddr_in *to) {
  uint8_t pkt[4 + 256];
  size_t len = strnlen(message, 255);
  pkt[0] = 0;
  pkt[1] = OP_ERROR;
  pkt[2] = (uint8_t)(code >> 8);
  pkt[3] = (uint8_t)code;
  memcpy(pkt + 4, message, len);
  pkt[4 + len] = 0;
  send_to(fd, pkt, 5 + len, to);
}

/* Sends blocks first..last (absolute); returns 0, or -1 with errno when reading failed. */
static int send_blocks(transfer_t *t, int64_t first, int64_t last) {
  int64_t count = last - first + 1;
  int64_t off = (first - 1) * (int64_t)t->blksize;
  const uint8_t *base;
  if (t->data) {
    base = t->data + off;
  } else {
    int64_t want = count * (int64_t)t->blksize;
    if (want > t->size - off) want = t->size - off;
    if (off < t->buf_off || off + want > t->buf_off + t->buf_len) {
      /* Read ahead a whole buffer: in lock-step at blksize 512 that is one pread per 128
       * blocks instead of one per block. */
      int64_t ahead = t->size - off < (int64_t)t->buf_cap ? t->size - off : (int64_t)t->buf_cap;
      int64_t got = 0;
      while (got < ahead) {
        ssize_t n = pread(t->file_fd, t->buf + got, (size_t)(ahead - got), off + got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += n;
      }
      t->buf_off = off;
      t->buf_len = got;
      if (got < ahead) {
        /* The file shrank under us. Its size went out in the OACK (tsize, RFC 2349) and the
         * end of a transfer is a short block (RFC 1350 section 6), so serving the shorter file
         * would hand the client a truncated file as complete: end with an ERROR instead. */
        t->shrank = 1;
        return -1;
      }
    }
    base = t->buf + (off - t->buf_off);
  }
  struct iovec iov[2 * GSO_MAX_SEGMENTS];
  struct mmsghdr msgs[GSO_MAX_SEGMENTS];
  int64_t per = (int64_t)(UDP_MAX_PAYLOAD / (4 + t->blksize));
  if (per > GSO_MAX_SEGMENTS) per = GSO_MAX_SEGMENTS;
  for (int64_t b = first; b <= last;) {
    int64_t n = last - b + 1;
    if (n > GSO_MAX_SEGMENTS) n = GSO_MAX_SEGMENTS;
    int gso = n > 1 && per >= 2 && !P.gso_off;
    if (gso && n > per) n = per;
    for (int64_t i = 0; i < n; i++) {
      int64_t blk = b + i;
      uint8_t *h = t->hdr + 4 * ((blk - first) % t->windowsize);
      h[0] = 0;
      h[1] = OP_DATA;
      h[2] = (uint8_t)((blk >> 8) & 0xff);
      h[3] = (uint8_t)(blk & 0xff);
      int64_t from = (blk - 1) * (int64_t)t->blksize;
      int64_t len = t->size - from;
      if (len > t->blksize) len = t->blksize;
      if (len < 0) len = 0;
      iov[2 * i].iov_base = h;
      iov[2 * i].iov_len = 4;
      iov[2 * i + 1].iov_base = (void *)(base + (from - off));
      iov[2 * i + 1].iov_len = (size_t)len;
    }
    if (gso) {
      char control[CMSG_SPACE(sizeof(uint16_t))];
      memset(control, 0, sizeof control);
      struct msghdr m = {.msg_name = &t->peer, .msg_namelen = sizeof t->peer, .msg_iov = iov,
                         .msg_iovlen = (size_t)(2 * n), .msg_control = control,
                         .msg_controllen = sizeof control};
      struct cmsghdr *c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = (uint16_t)(4 + t->blksize);
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
      ssize_t r;
      do {
        r = sendmsg(t->fd, &m, 0);
      } while (r < 0 && errno == EINTR);
      if (r < 0 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
        P.gso_off = 1; /* no checksum offload (EIO) or no UDP_SEGMENT: one datagram each */
        continue;      /* the same blocks again, without GSO */
      }
    } else {
      for (int64_t i = 0; i < n; i++) {
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_name = &t->peer;
        msgs[i].msg_hdr.msg_namelen = sizeof t->peer;
        msgs[i].msg_hdr.msg_iov = &iov[2 * i];
        msgs[i].msg_hdr.msg_iovlen = 2;
      }
      int done = 0;
      while (done < n) {
        int r = sendmmsg(t->fd, msgs + done, (unsigned)(n - done), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* a full buffer: the timer resends */
        done += r;
      }
    }
    b += n;
  }
  if (last > t->sent) t->sent = last;
  return 0;
}

/* ---- ending ---- */

/* Frees a transfer that is in no list, closing its socket if it has one. */
static void transfer_free(transfer_t *t) {
  if (t->fd >= 0) close(t->fd);
  free(t->buf);
  free(t->hdr);
  free(t->first);
  free(t);
}

static void finish(transfer_t *t, int outcome, const char *reason) {
  completion_t *c = calloc(1, sizeof *c);
  if (c) {
    c->id = t->id;
    c->outcome = outcome;
    c->after_oack = t->phase == 0 && outcome == OUT_ABORTED;
    c->acked = t->acked;
    c->retransmits = (uint32_t)t->state[S_RETRANSMITS];
    c->stale = (uint32_t)t->state[S_STALE];
    c->unknown_tid = (uint32_t)t->state[S_UNKNOWN_TID];
    c->malformed = (uint32_t)t->state[S_MALFORMED];
    c->unexpected = (uint32_t)t->state[S_UNEXPECTED];
    c->ms = (double)(now_ns() - t->started_ns) / 1e6;
    c->data_ref = t->data_ref;
    c->state_ref = t->state_ref;
    if (reason) snprintf(c->reason, sizeof c->reason, "%s", reason);
  }
  heap_remove(t);
  epoll_ctl(P.epfd, EPOLL_CTL_DEL, t->fd, NULL);
  if (t->prev) t->prev->next = t->next;
  else P.running = t->next;
  if (t->next) t->next->prev = t->prev;
  transfer_free(t);
  /* Without the completion JavaScript would keep the file's bytes forever: only an allocation
   * failure of ~700 bytes loses it, and then the process has bigger problems. */
  if (c && (P.stopping || napi_call_threadsafe_function(P.tsfn, c, napi_tsfn_nonblocking) != napi_ok))
    free(c);
}

/* Sends the window after the last ACK; returns 1 when a failed read ended the transfer. */
static int burst(transfer_t *t) {
  int64_t first = t->acked + 1;
  int64_t last = t->acked + t->windowsize;
  if (last > t->total) last = t->total;
  arm(t);
  if (send_blocks(t, first, last) != 0) {
    char why[REASON_MAX];
    snprintf(why, sizeof why, "read failed: %s", t->shrank ? "the file shrank during the transfer" : strerror(errno));
    send_error(t->fd, 0, "read error", &t->peer);
    finish(t, OUT_ERROR, why);
    return 1;
  }
  return 0;
}

static void send_first(transfer_t *t) {
  if (t->phase == 0) {
    arm(t);
    send_to(t->fd, t->first, t->first_len, &t->peer);
  } else {
    (void)burst(t);
  }
}

static const char *error_name(int code, char *tmp, size_t n) {
  static const char *names[] = {"NOT_DEFINED",       "FILE_NOT_FOUND", "ACCESS_VIOLATION",
                                "DISK_FULL",         "ILLEGAL_OPERATION", "UNKNOWN_TID",
                                "FILE_EXISTS",       "NO_SUCH_USER",   "OPTION_REFUSED"};
  if (code >= 0 && code <= 8) return names[code];
  snprintf(tmp, n, "code_%d", code);
  return tmp;
}

static void on_timeout(transfer_t *t) {
  if (++t->retries > t->max_retries) {
    char why[128];
    snprintf(why, sizeof why, "no ACK after %u retransmissions", t->max_retries);
    finish(t, OUT_TIMEOUT, why);
    return;
  }
  COUNT(t, S_RETRANSMITS);
  send_first(t);
}

/* One datagram on a transfer's socket; returns 1 when the transfer ended, 2 when it sent. */
static int on_packet(transfer_t *t, const uint8_t *p, size_t len, const struct sockaddr_in *from) {
  if (from->sin_addr.s_addr != t->peer.sin_addr.s_addr || from->sin_port != t->peer.sin_port) {
    COUNT(t, S_UNKNOWN_TID);
    /* RFC 1350 section 4; never answer an ERROR with an ERROR, or two hosts ping-pong. */
    if (!(len >= 2 && p[0] == 0 && p[1] == OP_ERROR)) send_error(t->fd, 5, "Unknown transfer ID", from);
    return 0;
  }
  if (len < 2) {
    COUNT(t, S_MALFORMED);
    return 0;
  }
  int op = (p[0] << 8) | p[1];
  if (op == OP_ACK) {
    if (len < 4) {
      COUNT(t, S_MALFORMED);
      return 0;
    }
    __atomic_store_n(&t->state[S_HEARD], 1, __ATOMIC_RELAXED);
    unsigned block = ((unsigned)p[2] << 8) | p[3];
    if (t->phase == 0) {
      /* RFC 2347: an OACK is acknowledged with ACK 0 */
      if (block != 0) {
        COUNT(t, S_STALE);
        return 0;
      }
      t->phase = 1;
    } else {
      int64_t delta = (int64_t)((block - (unsigned)(t->acked & 0xffff) + 0x10000u) & 0xffffu);
      if (delta == 0 || delta > t->sent - t->acked) {
        COUNT(t, S_STALE);
        return 0;
      }
      t->acked += delta;
      __atomic_store_n(&t->state[S_ACKED], (int32_t)t->acked, __ATOMIC_RELAXED);
      int64_t ms = (int64_t)((now_ns() - t->started_ns) / 1000000u) + 1;
      __atomic_store_n(&t->state[S_PROGRESS_MS], (int32_t)(ms > INT32_MAX ? INT32_MAX : ms), __ATOMIC_RELAXED);
      if (t->acked >= t->total) {
        finish(t, OUT_DONE, NULL);
        return 1;
      }
    }
    t->retries = 0;
    return burst(t) ? 1 : 2;
  }
  if (op == OP_ERROR) {
    if (len < 4) {
      COUNT(t, S_MALFORMED);
      return 0;
    }
    __atomic_store_n(&t->state[S_HEARD], 1, __ATOMIC_RELAXED);
    int code = (p[2] << 8) | p[3];
    size_t mlen = strnlen((const char *)p + 4, len - 4);
    char tmp[32], why[REASON_MAX];
    const char *name = error_name(code, tmp, sizeof tmp);
    /* The UEFI pattern: ERROR right after the OACK, then a new RRQ without tsize. */
    if (t->phase == 0)
      snprintf(why, sizeof why, "aborted_after_oack (client sent %s: %.*s)", name, (int)mlen, p + 4);
    else
      snprintf(why, sizeof why, "client sent %s: %.*s", name, (int)mlen, p + 4);
    finish(t, OUT_ABORTED, why);
    return 1;
  }
  if (op == OP_RRQ || op == OP_WRQ || op == OP_OACK || (op == OP_DATA && len >= 4)) COUNT(t, S_UNEXPECTED);
  else COUNT(t, S_MALFORMED);
  return 0;
}

/* Reads until an ACK moved the window (the common case: one datagram, no EAGAIN round trip;
 * epoll is level-triggered, so anything still queued brings the thread back). */
static void on_readable(transfer_t *t) {
  uint8_t buf[1500];
  struct sockaddr_in from;
  for (int i = 0; i < 64; i++) {
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(t->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN, or an error queued by ICMP: nothing to read */
    }
    if (from.sin_family != AF_INET) continue;
    if (on_packet(t, buf, (size_t)n, &from) != 0) return;
  }
}

/* ---- the thread ---- */

/* Takes the transfers and aborts handed over from JavaScript, leaving both lists empty. */
static void detach_queues(transfer_t **q, command_t **a) {
  pthread_mutex_lock(&P.lock);
  *q = P.queue;
  *a = P.aborts;
  P.queue = NULL;
  P.aborts = NULL;
  pthread_mutex_unlock(&P.lock);
}

static void take_commands(void) {
  transfer_t *q;
  command_t *a;
  detach_queues(&q, &a);
  /* the queue is LIFO; order among new transfers does not matter */
  while (q) {
    transfer_t *t = q;
    q = q->qnext;
    t->next = P.running;
    t->prev = NULL;
    if (P.running) P.running->prev = t;
    P.running = t;
    t->deadline_ns = now_ns();
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
    if (heap_push(t) != 0 || epoll_ctl(P.epfd, EPOLL_CTL_ADD, t->fd, &ev) != 0) {
      char why[128];
      snprintf(why, sizeof why, "pump cannot watch the socket: %s", strerror(errno));
      finish(t, OUT_ERROR, why);
      continue;
    }
    send_first(t);
  }
  while (a) {
    command_t *c = a;
    a = a->next;
    for (transfer_t *t = P.running; t; t = t->next) {
      if (t->id == c->id) {
        send_error(t->fd, 0, c->message, &t->peer);
        finish(t, OUT_ERROR, c->message);
        break;
      }
    }
    free(c);
  }
}

static void *pump_main(void *arg) {
  (void)arg;
  struct epoll_event evs[256];
  for (;;) {
    int timeout = -1;
    if (P.heap_len > 0) {
      uint64_t now = now_ns(), d = P.heap[0]->deadline_ns;
      timeout = d <= now ? 0 : (int)((d - now + 999999) / 1000000);
    }
    int n = epoll_wait(P.epfd, evs, 256, timeout);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        uint64_t v;
        ssize_t r = read(P.evfd, &v, sizeof v);
        (void)r;
        take_commands();
        /* later events of this batch may belong to transfers that just ended */
        if (__atomic_load_n(&P.stopping, __ATOMIC_ACQUIRE)) goto stop;
        n = 0;
        break;
      }
      on_readable((transfer_t *)evs[i].data.ptr);
    }
    uint64_t now = now_ns();
    while (P.heap_len > 0 && P.heap[0]->deadline_ns <= now) on_timeout(P.heap[0]);
  }
stop:
  while (P.running) {
    send_error(P.running->fd, 0, "server shutting down", &P.running->peer);
    finish(P.running, OUT_ERROR, "server shutting down");
  }
  return NULL;
}

/* Tells the pump thread that a transfer, an abort or the stop is queued (its eventfd, in its epoll set). */
static void wake_pump(void) {
  uint64_t one = 1;
  ssize_t w = write(P.evfd, &one, sizeof one);
  (void)w; /* a full counter still wakes the thread */
}

static void pump_stop(void *arg) {
  (void)arg;
  if (!P.started) return;
  __atomic_store_n(&P.stopping, 1, __ATOMIC_RELEASE);
  wake_pump();
  pthread_join(P.thread, NULL);
  /* The module outlives this environment when another realm has loaded it too (a worker
   * thread's, or the main thread's while a worker ran the pump), and that realm may start
   * the pump again: leave nothing of this run behind, least of all `stopping`, which would
   * end the next pump's first transfers unreported. */
  transfer_t *q;
  command_t *a;
  detach_queues(&q, &a);
  while (q) { /* handed over after the thread's last look (none from this realm's own thread) */
    transfer_t *t = q;
    q = q->qnext;
    transfer_free(t);
  }
  while (a) {
    command_t *c = a;
    a = a->next;
    free(c);
  }
  close(P.epfd);
  close(P.evfd);
  P.epfd = P.evfd = -1;
  P.active = 0; /* this environment's completions are gone with it */
  P.tsfn_refed = 0;
  P.tsfn = NULL;
  P.env = NULL;
  __atomic_store_n(&P.stopping, 0, __ATOMIC_RELEASE);
  P.started = 0;
}

/* ---- JavaScript side ---- */

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  completion_t *c = data;
  if (env == NULL) {
    free(c);
    return;
  }
  if (c->data_ref) napi_delete_reference(env, c->data_ref);
  if (c->state_ref) napi_delete_reference(env, c->state_ref);
  if (P.active > 0 && --P.active == 0 && P.tsfn_refed) {
    napi_unref_threadsafe_function(env, P.tsfn);
    P.tsfn_refed = 0;
  }
  napi_value argv[11], undef;
  napi_get_undefined(env, &undef);
  napi_create_double(env, c->id, &argv[0]);
  napi_create_string_utf8(env, OUTCOMES[c->outcome], NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_int64(env, c->acked, &argv[2]);
  if (c->reason[0]) napi_create_string_utf8(env, c->reason, NAPI_AUTO_LENGTH, &argv[3]);
  else argv[3] = undef;
  napi_get_boolean(env, c->after_oack, &argv[4]);
  napi_create_uint32(env, c->retransmits, &argv[5]);
  napi_create_uint32(env, c->stale, &argv[6]);
  napi_create_uint32(env, c->unknown_tid, &argv[7]);
  napi_create_uint32(env, c->malformed, &argv[8]);
  napi_create_uint32(env, c->unexpected, &argv[9]);
  napi_create_double(env, c->ms, &argv[10]);
  free(c);
  napi_call_function(env, undef, cb, 11, argv, NULL);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  /* the errno name as the code where the caller acts on it (a shortage is retried later) */
  const char *code = err == EMFILE ? "EMFILE" : err == ENFILE ? "ENFILE" : err == ENOBUFS ? "ENOBUFS"
                   : err == ENOMEM ? "ENOMEM" : "EPUMP";
  return nu_throw_errno(env, code, what, err);
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[1], name;
  napi_valuetype type;
  if (!nu_args(env, info, 1, argv) || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "start(onEnd) needs a function");
    return NULL;
  }
  if (P.started) {
    napi_throw_error(env, "EPUMP", "the TFTP pump is already started in this process");
    return NULL;
  }
  P.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (P.epfd < 0) return throw_errno(env, "epoll_create1", errno);
  P.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (P.evfd < 0) return throw_errno(env, "eventfd", errno);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(P.epfd, EPOLL_CTL_ADD, P.evfd, &ev) != 0) return throw_errno(env, "epoll_ctl", errno);
  napi_create_string_utf8(env, "tftp-pump", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &P.tsfn) !=
      napi_ok) {
    napi_throw_error(env, "EPUMP", "cannot create the completion callback");
    return NULL;
  }
  napi_unref_threadsafe_function(env, P.tsfn); /* an idle pump must not keep Node alive */
  P.env = env;
  int err = pthread_create(&P.thread, NULL, pump_main, NULL);
  if (err != 0) return throw_errno(env, "pthread_create", err);
  P.started = 1;
  napi_add_env_cleanup_hook(env, pump_stop, NULL);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *out, size_t n) {
  napi_valuetype type;
  size_t len = 0;
  out[0] = 0;
  if (napi_typeof(env, v, &type) != napi_ok) return -1;
  if (type == napi_null || type == napi_undefined) return 0;
  if (napi_get_value_string_utf8(env, v, out, n, &len) != napi_ok) return -1;
  return (int)len;
}

static napi_value js_transfer(napi_env env, napi_callback_info info) {
  napi_value argv[15];
  if (!P.started) {
    napi_throw_error(env, "EPUMP", "start(onEnd) first");
    return NULL;
  }
  if (!nu_args(env, info, 15, argv)) {
    napi_throw_type_error(env, NULL, "transfer() needs 15 arguments");
    return NULL;
  }
  double id;
  char bind_addr[64], device[IF_NAMESIZE + 1], peer_addr[64];
  int32_t peer_port, file_fd;
  int64_t size;
  uint32_t blksize, windowsize, timeout_ms, max_timeout_ms, max_retries;
  if (napi_get_value_double(env, argv[0], &id) != napi_ok || get_string(env, argv[1], bind_addr, sizeof bind_addr) < 0 ||
      get_string(env, argv[2], device, sizeof device) < 0 ||
      get_string(env, argv[3], peer_addr, sizeof peer_addr) <= 0 ||
      napi_get_value_int32(env, argv[4], &peer_port) != napi_ok || peer_port <= 0 || peer_port > 65535 ||
      napi_get_value_int32(env, argv[6], &file_fd) != napi_ok ||
      napi_get_value_int64(env, argv[7], &size) != napi_ok || size < 0 ||
      napi_get_value_uint32(env, argv[8], &blksize) != napi_ok || blksize < 8 || blksize > 65464 ||
      napi_get_value_uint32(env, argv[9], &windowsize) != napi_ok || windowsize < 1 || windowsize > 65535 ||
      napi_get_value_uint32(env, argv[10], &timeout_ms) != napi_ok || timeout_ms < 1 ||
      napi_get_value_uint32(env, argv[11], &max_timeout_ms) != napi_ok ||
      napi_get_value_uint32(env, argv[12], &max_retries) != napi_ok) {
    napi_throw_type_error(env, NULL, "transfer(): bad argument types or ranges");
    return NULL;
  }
  void *dp = NULL, *sp = NULL, *fp = NULL;
  size_t dlen = 0, slen = 0, flen = 0;
  int has_data = nu_typed_array_or_null(env, argv[5], napi_uint8_array, &dp, &dlen);
  if (has_data < 0 || (has_data && (int64_t)dlen < size)) {
    napi_throw_type_error(env, NULL, "transfer(): data must be a Uint8Array of at least `size` bytes");
    return NULL;
  }
  if (!has_data && file_fd < 0) {
    napi_throw_type_error(env, NULL, "transfer(): needs data or a file descriptor");
    return NULL;
  }
  const uint8_t *data = dp;
  if (nu_typed_array_or_null(env, argv[14], napi_int32_array, &sp, &slen) != 1 || slen < S_LEN) {
    napi_throw_type_error(env, NULL, "transfer(): state must be an Int32Array(8)");
    return NULL;
  }
  int32_t *state = sp;
  int has_first = nu_typed_array_or_null(env, argv[13], napi_uint8_array, &fp, &flen);
  if (has_first < 0 || (has_first && flen == 0)) {
    napi_throw_type_error(env, NULL, "transfer(): first must be a non-empty Uint8Array or null");
    return NULL;
  }
  struct sockaddr_in local = {.sin_family = AF_INET}, peer = {.sin_family = AF_INET};
  if ((bind_addr[0] && inet_pton(AF_INET, bind_addr, &local.sin_addr) != 1) ||
      inet_pton(AF_INET, peer_addr, &peer.sin_addr) != 1) {
    napi_throw_range_error(env, NULL, "transfer(): addresses must be IPv4 literals");
    return NULL;
  }
  peer.sin_port = htons((uint16_t)peer_port);

  transfer_t *t = calloc(1, sizeof *t);
  if (!t) return throw_errno(env, "calloc", ENOMEM);
  t->fd = -1;
  t->hdr = malloc(4 * (size_t)windowsize);
  if (!data) { /* a window of the file, at least READ_AHEAD bytes, at most the whole file */
    int64_t cap = (int64_t)windowsize * blksize;
    if (cap < READ_AHEAD) cap = READ_AHEAD;
    if (cap > size) cap = size;
    t->buf_cap = (size_t)cap;
    t->buf = malloc(t->buf_cap + 1);
  }
  if (has_first) {
    t->first = malloc(flen);
    if (t->first) memcpy(t->first, fp, flen);
    t->first_len = flen;
  }
  if (!t->hdr || (!data && !t->buf) || (t->first_len && !t->first)) {
    transfer_free(t);
    return throw_errno(env, "malloc", ENOMEM);
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const char *what = NULL;
  int err = 0;
  if (fd < 0) what = "socket";
  else if (device[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device) + 1) != 0)
    what = "setsockopt(SO_BINDTODEVICE)";
  else if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) what = "bind";
  socklen_t llen = sizeof local;
  if (!what && getsockname(fd, (struct sockaddr *)&local, &llen) != 0) what = "getsockname";
  if (what) {
    err = errno;
    if (fd >= 0) close(fd);
    transfer_free(t);
    return throw_errno(env, what, err);
  }
  t->id = id;
  t->fd = fd;
  t->peer = peer;
  t->data = data;
  t->file_fd = file_fd;
  t->size = size;
  t->blksize = blksize;
  t->windowsize = windowsize;
  t->base_ms = timeout_ms;
  t->max_timeout_ms = max_timeout_ms < timeout_ms ? timeout_ms : max_timeout_ms;
  t->max_retries = max_retries;
  t->phase = t->first ? 0 : 1;
  t->total = size / blksize + 1;
  t->started_ns = now_ns();
  t->state = state;
  t->heap_idx = (size_t)-1;
  memset(state, 0, S_LEN * sizeof *state);
  if (data) napi_create_reference(env, argv[5], 1, &t->data_ref);
  napi_create_reference(env, argv[14], 1, &t->state_ref);
  if (P.active++ == 0 && !P.tsfn_refed) {
    napi_ref_threadsafe_function(env, P.tsfn);
    P.tsfn_refed = 1;
  }
  pthread_mutex_lock(&P.lock);
  t->qnext = P.queue;
  P.queue = t;
  pthread_mutex_unlock(&P.lock);
  wake_pump();
  napi_value port;
  napi_create_uint32(env, ntohs(local.sin_port), &port);
  return port;
}

static napi_value js_abort(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double id;
  if (!nu_args(env, info, 2, argv) || napi_get_value_double(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "abort(id, message) needs a transfer id and a message");
    return NULL;
  }
  if (!P.started) return NULL;
  command_t *c = calloc(1, sizeof *c);
  if (!c) return throw_errno(env, "calloc", ENOMEM);
  c->id = id;
  if (get_string(env, argv[1], c->message, sizeof c->message) < 0) snprintf(c->message, sizeof c->message, "aborted");
  pthread_mutex_lock(&P.lock);
  c->next = P.aborts;
  P.aborts = c;
  pthread_mutex_unlock(&P.lock);
  wake_pump();
  return NULL;
}

static napi_value js_active(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_uint32(env, P.active, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  nu_export(env, exports, "start", js_start);
  nu_export(env, exports, "transfer", js_transfer);
  nu_export(env, exports, "abort", js_abort);
  nu_export(env, exports, "active", js_active);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
