/*
 * tftpload — a TFTP read load generator for bench/tftp.sh.
 *
 * Runs N read transfers at once from one single-threaded epoll loop (so the client costs far
 * less CPU than N curl or atftp processes) and checks every byte against a local copy of the
 * file. Options it asks for: blksize (RFC 2348), tsize (RFC 2349), windowsize (RFC 7440).
 *
 *   tftpload -s ADDR [-p PORT] -f REMOTE -l LOCAL [-n CONCURRENT] [-t TOTAL]
 *            [-b BLKSIZE] [-w WINDOWSIZE] [-T TIMEOUT_MS] [-R RETRIES]
 *
 *   -b 0 sends no options at all (512-byte blocks, RFC 1350); -w 1 does not ask for a window.
 *
 * Prints one line: ok=N fail=N wall_s=S p50_ms=X p99_ms=X max_ms=X mib_s=X retrans=N
 * blksize=N windowsize=N, and exits 0 only when every transfer delivered the exact file.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OP_RRQ = 1, OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, OP_OACK = 6 };
enum state { IDLE, RUNNING, DONE, FAILED };

struct xfer {
  enum state st;
  int fd;
  struct sockaddr_in peer; /* the server's transfer TID, learnt from its first reply */
  int have_peer;
  unsigned blksize, window;
  uint64_t next;    /* next expected absolute block number (from 1) */
  uint64_t acked;   /* highest block we acknowledged */
  unsigned in_window;
  uint64_t got;     /* bytes received in order */
  double t_start, t_last, t_end;
  int tries, retrans, oack_expected;
  unsigned char last[4]; /* last ACK sent, for retransmission */
  int sent_ack;
};

static struct {
  const char *server, *remote, *local;
  int port, concurrent, total, timeout_ms, retries;
  unsigned blksize, window;
} cfg = {NULL, NULL, NULL, 69, 1, 0, 1000, 5, 1468, 1};

static const unsigned char *expect; /* the local file, mapped */
static size_t expect_len;
static struct sockaddr_in server_addr;
static unsigned char rrq[512];
static size_t rrq_len;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t put_str(unsigned char *p, const char *s) {
  size_t n = strlen(s) + 1;
  memcpy(p, s, n);
  return n;
}

static void build_request(void) {
  char num[16];
  unsigned char *p = rrq;
  *p++ = 0;
  *p++ = OP_RRQ;
  p += put_str(p, cfg.remote);
  p += put_str(p, "octet");
  if (cfg.blksize > 0) {
    snprintf(num, sizeof num, "%u", cfg.blksize);
    p += put_str(p, "blksize");
    p += put_str(p, num);
    p += put_str(p, "tsize");
    p += put_str(p, "0");
    if (cfg.window > 1) {
      snprintf(num, sizeof num, "%u", cfg.window);
      p += put_str(p, "windowsize");
      p += put_str(p, num);
    }
  }
  rrq_len = (size_t)(p - rrq);
}

static void send_to_peer(struct xfer *x, const void *buf, size_t len) {
  sendto(x->fd, buf, len, 0, (const struct sockaddr *)&x->peer, sizeof x->peer);
}

static void send_ack(struct xfer *x, uint64_t block) {
  x->last[0] = 0;
  x->last[1] = OP_ACK;
  x->last[2] = (block >> 8) & 0xff;
  x->last[3] = block & 0xff;
  x->sent_ack = 1;
  x->acked = block;
  x->in_window = 0;
  send_to_peer(x, x->last, 4);
}

static void finish(struct xfer *x, int epfd, enum state st, const char *why) {
  x->st = st;
  x->t_end = now_s();
  epoll_ctl(epfd, EPOLL_CTL_DEL, x->fd, NULL);
  close(x->fd);
  x->fd = -1;
  if (st == FAILED && why) fprintf(stderr, "tftpload: transfer failed: %s\n", why);
}

static int start(struct xfer *x, int epfd) {
  memset(x, 0, sizeof *x);
  x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (x->fd < 0) return -1;
  int rcvbuf = 1 << 20;
  setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = x};
  epoll_ctl(epfd, EPOLL_CTL_ADD, x->fd, &ev);
  x->st = RUNNING;
  x->blksize = 512; /* until an OACK says otherwise */
  x->window = 1;
  x->next = 1;
  x->oack_expected = cfg.blksize > 0;
  x->t_start = x->t_last = now_s();
  sendto(x->fd, rrq, rrq_len, 0, (struct sockaddr *)&server_addr, sizeof server_addr);
  return 0;
}

/* RFC 2347: the OACK lists the options the server accepted; anything absent keeps its default. */
static void on_oack(struct xfer *x, const unsigned char *b, size_t n) {
  const char *p = (const char *)b + 2, *end = (const char *)b + n;
  while (p < end) {
    const char *key = p;
    p += strnlen(p, (size_t)(end - p)) + 1;
    if (p >= end) break;
    const char *val = p;
    p += strnlen(p, (size_t)(end - p)) + 1;
    if (!strcasecmp(key, "blksize")) x->blksize = (unsigned)atoi(val);
    if (!strcasecmp(key, "windowsize")) x->window = (unsigned)atoi(val);
  }
  x->oack_expected = 0;
  send_ack(x, 0);
}

static void on_data(struct xfer *x, int epfd, const unsigned char *b, size_t n) {
  uint16_t wire = (uint16_t)(b[2] << 8 | b[3]);
  size_t len = n - 4;
  x->oack_expected = 0; /* a server that ignores options starts with DATA 1 */
  if (wire == (uint16_t)x->next) {
    size_t off = (size_t)(x->next - 1) * x->blksize;
    if (off + len > expect_len || memcmp(expect + off, b + 4, len) != 0) {
      finish(x, epfd, FAILED, "data differs from the local file");
      return;
    }
    x->got += len;
    x->next++;
    x->in_window++;
    if (len < x->blksize) { /* the short block ends the transfer */
      send_ack(x, x->next - 1);
      if (x->got == expect_len) finish(x, epfd, DONE, NULL);
      else finish(x, epfd, FAILED, "short file");
      return;
    }
    if (x->in_window >= x->window) send_ack(x, x->next - 1);
  } else if ((uint16_t)(x->next - 1) == wire) {
    send_ack(x, x->next - 1); /* a duplicate of the newest block: our ACK was lost */
  } else if (x->in_window > 0 || x->acked != x->next - 1) {
    send_ack(x, x->next - 1); /* a gap inside a window: RFC 7440 section 4, ack what we hold */
  }
}

static void on_packet(struct xfer *x, int epfd, const unsigned char *b, size_t n,
                      const struct sockaddr_in *from) {
  if (n < 4) return;
  if (!x->have_peer) {
    x->peer = *from;
    x->have_peer = 1;
  } else if (from->sin_port != x->peer.sin_port || from->sin_addr.s_addr != x->peer.sin_addr.s_addr) {
    return; /* not our transfer's TID */
  }
  x->tries = 0;
  x->t_last = now_s();
  switch (b[0] << 8 | b[1]) {
    case OP_OACK: on_oack(x, b, n); break;
    case OP_DATA: on_data(x, epfd, b, n); break;
    case OP_ERROR: {
      char why[600];
      snprintf(why, sizeof why, "server error %u: %.*s", b[2] << 8 | b[3], (int)(n - 4), b + 4);
      finish(x, epfd, FAILED, why);
      break;
    }
    default: break;
  }
}

static void on_timeout(struct xfer *x, int epfd) {
  if (++x->tries > cfg.retries) {
    finish(x, epfd, FAILED, "timeout");
    return;
  }
  x->retrans++;
  x->t_last = now_s();
  if (!x->have_peer) sendto(x->fd, rrq, rrq_len, 0, (struct sockaddr *)&server_addr, sizeof server_addr);
  else if (x->sent_ack) send_to_peer(x, x->last, 4);
}

static int by_value(const void *a, const void *b) {
  double d = *(const double *)a - *(const double *)b;
  return (d > 0) - (d < 0);
}

static void usage(void) {
  fprintf(stderr,
          "usage: tftpload -s ADDR [-p PORT] -f REMOTE -l LOCAL [-n CONCURRENT] [-t TOTAL]\n"
          "                [-b BLKSIZE (0 = no options)] [-w WINDOWSIZE] [-T TIMEOUT_MS] [-R RETRIES]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int c;
  while ((c = getopt(argc, argv, "s:p:f:l:n:t:b:w:T:R:")) != -1) {
    switch (c) {
      case 's': cfg.server = optarg; break;
      case 'p': cfg.port = atoi(optarg); break;
      case 'f': cfg.remote = optarg; break;
      case 'l': cfg.local = optarg; break;
      case 'n': cfg.concurrent = atoi(optarg); break;
      case 't': cfg.total = atoi(optarg); break;
      case 'b': cfg.blksize = (unsigned)atoi(optarg); break;
      case 'w': cfg.window = (unsigned)atoi(optarg); break;
      case 'T': cfg.timeout_ms = atoi(optarg); break;
      case 'R': cfg.retries = atoi(optarg); break;
      default: usage();
    }
  }
  if (!cfg.server || !cfg.remote || !cfg.local || cfg.concurrent < 1) usage();
  if (cfg.total < cfg.concurrent) cfg.total = cfg.concurrent;
  if (cfg.total > 1000000) usage();

  int lfd = open(cfg.local, O_RDONLY);
  struct stat st;
  if (lfd < 0 || fstat(lfd, &st) < 0) {
    perror(cfg.local);
    return 2;
  }
  expect_len = (size_t)st.st_size;
  expect = expect_len ? mmap(NULL, expect_len, PROT_READ, MAP_PRIVATE, lfd, 0) : (const unsigned char *)"";
  if (expect == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  server_addr.sin_family = AF_INET;
  server_addr.sin_port = htons((uint16_t)cfg.port);
  if (inet_pton(AF_INET, cfg.server, &server_addr.sin_addr) != 1) usage();
  build_request();

  struct xfer *xs = calloc((size_t)(unsigned)cfg.total, sizeof *xs);
  int epfd = epoll_create1(0);
  int started = 0, ended = 0;
  double t0 = now_s();
  while (started < cfg.concurrent) {
    if (start(&xs[started], epfd) < 0) {
      perror("socket");
      return 2;
    }
    started++;
  }
  struct epoll_event evs[256];
  static unsigned char buf[65536 + 4];
  while (ended < cfg.total) {
    int k = epoll_wait(epfd, evs, 256, 10);
    for (int i = 0; i < k; i++) {
      struct xfer *x = evs[i].data.ptr;
      for (int burst = 0; burst < 128 && x->st == RUNNING; burst++) {
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(x->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        if (n < 0) break;
        on_packet(x, epfd, buf, (size_t)n, &from);
      }
    }
    double t = now_s();
    for (int i = 0; i < started; i++) {
      struct xfer *x = &xs[i];
      if (x->st == RUNNING && (t - x->t_last) * 1000 > cfg.timeout_ms) on_timeout(x, epfd);
      if (x->st == DONE || x->st == FAILED) {
        if (x->fd == -1) {
          x->fd = -2; /* counted */
          ended++;
          if (started < cfg.total) {
            if (start(&xs[started], epfd) < 0) {
              perror("socket");
              return 2;
            }
            started++;
          }
        }
      }
    }
  }
  double wall = now_s() - t0;

  double *ms = calloc((size_t)(unsigned)cfg.total, sizeof *ms);
  int ok = 0;
  long retrans = 0;
  uint64_t bytes = 0;
  unsigned blk = 0, win = 0;
  for (int i = 0; i < cfg.total; i++) {
    retrans += xs[i].retrans;
    if (xs[i].st != DONE) continue;
    ms[ok++] = (xs[i].t_end - xs[i].t_start) * 1000;
    bytes += xs[i].got;
    blk = xs[i].blksize;
    win = xs[i].window;
  }
  qsort(ms, (size_t)ok, sizeof *ms, by_value);
#define RANK(p) (ok ? ms[(int)((p) * (ok - 1) + 0.5)] : 0)
  printf("ok=%d fail=%d wall_s=%.4f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f mib_s=%.1f retrans=%ld blksize=%u windowsize=%u\n",
         ok, cfg.total - ok, wall, RANK(0.5), RANK(0.99), RANK(1.0), bytes / 1048576.0 / wall, retrans, blk, win);
  return ok == cfg.total ? 0 : 1;
}
