/*
 * null-dhcp: the cheapest DHCPv4 responder we can write, the cost floor for bench/dhcp.sh.
 *
 * NOT a DHCP server: no lease state, no persistence, no conflict checks, no policy. It answers
 * every DISCOVER with an OFFER and every REQUEST with an ACK (RFC 2131 section 4.3.1 and
 * 4.3.2) so that perfdhcp completes a DORA for each client, and nothing else. Measured against
 * it, perfdhcp's highest sustainable DORA rate is the ceiling of the harness on this machine:
 * no server measured with the same perfdhcp can show a higher one.
 *
 *   null-dhcp -i IFACE -s SERVER_IP [-b BIND_IP] [-p POOL_START] [-n POOL_SIZE]
 *             [-m NETMASK] [-r ROUTER] [-l LEASE_S] [-B BATCH]
 *
 * Reads with recvmmsg(2) (MSG_WAITFORONE: block for the first datagram, then take what is
 * queued), answers the batch with one sendmmsg(2). Replies carry options 53 (message type),
 * 54 (server identifier), 51 (lease time), 1 (subnet mask), 3 (router) and 255 (end).
 * yiaddr: an OFFER takes the next address of a counter over the pool; an ACK confirms the
 * address the client asks for (option 50, RFC 2131 section 4.3.2 SELECTING / INIT-REBOOT),
 * else its ciaddr (RENEWING / REBINDING), else the next counter address.
 * Destination (RFC 2131 section 4.1): giaddr set -> the relay agent, port 67; ciaddr set ->
 * ciaddr, port 68; otherwise 255.255.255.255:68 out of IFACE (unicast to a yiaddr the client
 * does not have yet would need an ARP entry; broadcasting is allowed).
 * SIGTERM/SIGINT: prints its counters to stderr and exits 0.
 *
 * Build: gcc -O2 -Wall -Wextra -o null-dhcp null-dhcp.c  (bench/dhcp.sh does this)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVER_PORT 67
#define CLIENT_PORT 68
#define BOOTP_FIXED 236 /* op .. file: RFC 2131 section 2, figure 1 */
#define MAGIC_OFF BOOTP_FIXED
#define OPTIONS_OFF (BOOTP_FIXED + 4)
#define REPLY_MIN 300 /* BOOTP minimum message size (RFC 951; RFC 2131 section 2) */
#define MAX_BATCH 256
#define PKT_MAX 1500

enum { DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5 };
enum { OPT_PAD = 0, OPT_MASK = 1, OPT_ROUTER = 3, OPT_REQ_IP = 50, OPT_LEASE = 51, OPT_TYPE = 53,
       OPT_SERVER_ID = 54, OPT_END = 255 };

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

struct config {
  const char *iface;
  struct in_addr server, bind, pool_start, mask, router;
  uint32_t pool_size, lease_s;
  unsigned batch;
};

struct counters {
  unsigned long long received, offers, acks, ignored, send_errors, batches;
};

static void usage(void) {
  fprintf(stderr,
          "usage: null-dhcp -i IFACE -s SERVER_IP [-b BIND_IP (0.0.0.0)] [-p POOL_START (SERVER_IP+1)]\n"
          "                 [-n POOL_SIZE (65000)] [-m NETMASK (255.255.0.0)] [-r ROUTER (SERVER_IP)]\n"
          "                 [-l LEASE_S (43200)] [-B BATCH (64, max %d)]\n"
          "A benchmark-only DHCPv4 responder without lease state (see bench/README.md).\n",
          MAX_BATCH);
  exit(2);
}

static struct in_addr parse_ip(const char *what, const char *s) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) {
    fprintf(stderr, "null-dhcp: %s \"%s\" is not an IPv4 address (e.g. 10.77.0.1)\n", what, s);
    exit(2);
  }
  return a;
}

static unsigned long parse_num(const char *what, const char *s, unsigned long min, unsigned long max) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || end == s || v < min || v > max) {
    fprintf(stderr, "null-dhcp: %s \"%s\" must be a number from %lu to %lu\n", what, s, min, max);
    exit(2);
  }
  return v;
}

/* The value of option CODE in the options area [p, end): pointer and length, or NULL. */
static const uint8_t *find_option(const uint8_t *p, const uint8_t *end, uint8_t code, uint8_t *len) {
  while (p < end) {
    uint8_t c = *p++;
    if (c == OPT_PAD) continue;
    if (c == OPT_END || p >= end) break;
    uint8_t l = *p++;
    if (p + l > end) break;
    if (c == code) {
      *len = l;
      return p;
    }
    p += l;
  }
  return NULL;
}

static uint8_t *put_u32(uint8_t *o, uint8_t code, uint32_t net_value) {
  *o++ = code;
  *o++ = 4;
  memcpy(o, &net_value, 4);
  return o + 4;
}

/*
 * Builds the reply to REQ (LEN bytes) into OUT and its destination into TO.
 * Returns the reply length, or 0 when the request gets no answer.
 */
static size_t answer(const struct config *cfg, uint32_t *next, const uint8_t *req, size_t len, uint8_t *out,
                     struct sockaddr_in *to, struct counters *n) {
  static const uint8_t cookie[4] = {99, 130, 83, 99};
  if (len < OPTIONS_OFF + 3 || req[0] != 1 /* BOOTREQUEST */ || memcmp(req + MAGIC_OFF, cookie, 4) != 0)
    return 0;
  const uint8_t *opts = req + OPTIONS_OFF, *end = req + len;
  uint8_t l = 0;
  const uint8_t *t = find_option(opts, end, OPT_TYPE, &l);
  if (!t || l != 1 || (*t != DISCOVER && *t != REQUEST)) return 0;
  uint8_t type = *t == DISCOVER ? OFFER : ACK;

  uint32_t yiaddr = 0; /* network order */
  if (type == ACK) {
    /* RFC 2131 section 4.3.2: a REQUEST naming another server is that server's business */
    const uint8_t *sid = find_option(opts, end, OPT_SERVER_ID, &l);
    if (sid && l == 4 && memcmp(sid, &cfg->server.s_addr, 4) != 0) return 0;
    const uint8_t *want = find_option(opts, end, OPT_REQ_IP, &l);
    if (want && l == 4) memcpy(&yiaddr, want, 4);
    else memcpy(&yiaddr, req + 12, 4); /* ciaddr */
  }
  if (yiaddr == 0) {
    yiaddr = htonl(ntohl(cfg->pool_start.s_addr) + *next);
    *next = (*next + 1) % cfg->pool_size;
  }

  memset(out, 0, REPLY_MIN);
  out[0] = 2; /* BOOTREPLY */
  memcpy(out + 1, req + 1, 3); /* htype, hlen, hops (relay agents count their own) */
  memcpy(out + 4, req + 4, 4); /* xid */
  memcpy(out + 10, req + 10, 2); /* flags */
  memcpy(out + 12, req + 12, 4); /* ciaddr */
  memcpy(out + 16, &yiaddr, 4);
  memcpy(out + 24, req + 24, 4); /* giaddr */
  memcpy(out + 28, req + 28, 16); /* chaddr */
  memcpy(out + MAGIC_OFF, cookie, 4);
  uint8_t *o = out + OPTIONS_OFF;
  *o++ = OPT_TYPE;
  *o++ = 1;
  *o++ = type;
  o = put_u32(o, OPT_SERVER_ID, cfg->server.s_addr);
  o = put_u32(o, OPT_LEASE, htonl(cfg->lease_s));
  o = put_u32(o, OPT_MASK, cfg->mask.s_addr);
  o = put_u32(o, OPT_ROUTER, cfg->router.s_addr);
  *o++ = OPT_END;
  size_t out_len = (size_t)(o - out);
  if (out_len < REPLY_MIN) out_len = REPLY_MIN;

  /* RFC 2131 section 4.1, destination of server replies */
  uint32_t giaddr, ciaddr;
  memcpy(&giaddr, req + 24, 4);
  memcpy(&ciaddr, req + 12, 4);
  memset(to, 0, sizeof *to);
  to->sin_family = AF_INET;
  if (giaddr) {
    to->sin_addr.s_addr = giaddr;
    to->sin_port = htons(SERVER_PORT);
  } else if (ciaddr) {
    to->sin_addr.s_addr = ciaddr;
    to->sin_port = htons(CLIENT_PORT);
  } else {
    to->sin_addr.s_addr = htonl(INADDR_BROADCAST);
    to->sin_port = htons(CLIENT_PORT);
  }
  if (type == OFFER) n->offers++;
  else n->acks++;
  return out_len;
}

static int open_socket(const struct config *cfg) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("null-dhcp: socket");
    exit(1);
  }
  int one = 1, buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) perror("null-dhcp: SO_BROADCAST");
  /* as root past net.core.rmem_max; else whatever the limit allows */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  /* receive broadcasts of IFACE only, and send 255.255.255.255 out of it */
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->iface, (socklen_t)strlen(cfg->iface)) < 0) {
    fprintf(stderr, "null-dhcp: cannot bind to interface %s: %s (needs root and an existing interface)\n",
            cfg->iface, strerror(errno));
    exit(1);
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(SERVER_PORT), .sin_addr = cfg->bind};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "null-dhcp: cannot bind UDP %s:%d: %s\n", inet_ntoa(cfg->bind), SERVER_PORT, strerror(errno));
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv) {
  struct config cfg = {.pool_size = 65000, .lease_s = 43200, .batch = 64};
  int have_server = 0, have_pool = 0, have_router = 0, c;
  cfg.bind.s_addr = htonl(INADDR_ANY);
  cfg.mask.s_addr = htonl(0xffff0000u);
  while ((c = getopt(argc, argv, "i:s:b:p:n:m:r:l:B:h")) != -1) {
    switch (c) {
    case 'i': cfg.iface = optarg; break;
    case 's': cfg.server = parse_ip("server address (-s)", optarg); have_server = 1; break;
    case 'b': cfg.bind = parse_ip("bind address (-b)", optarg); break;
    case 'p': cfg.pool_start = parse_ip("pool start (-p)", optarg); have_pool = 1; break;
    case 'n': cfg.pool_size = (uint32_t)parse_num("pool size (-n)", optarg, 1, 1u << 24); break;
    case 'm': cfg.mask = parse_ip("netmask (-m)", optarg); break;
    case 'r': cfg.router = parse_ip("router (-r)", optarg); have_router = 1; break;
    case 'l': cfg.lease_s = (uint32_t)parse_num("lease time (-l)", optarg, 1, 0xffffffffu); break;
    case 'B': cfg.batch = (unsigned)parse_num("batch (-B)", optarg, 1, MAX_BATCH); break;
    default: usage();
    }
  }
  if (!cfg.iface || !have_server || optind != argc) usage();
  if (strlen(cfg.iface) >= IFNAMSIZ) {
    fprintf(stderr, "null-dhcp: interface name \"%s\" is longer than %d characters\n", cfg.iface, IFNAMSIZ - 1);
    return 2;
  }
  if (!have_pool) cfg.pool_start.s_addr = htonl(ntohl(cfg.server.s_addr) + 1);
  if (!have_router) cfg.router = cfg.server;

  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: recvmmsg returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int fd = open_socket(&cfg);
  char server_s[INET_ADDRSTRLEN], pool_s[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &cfg.server, server_s, sizeof server_s);
  inet_ntop(AF_INET, &cfg.pool_start, pool_s, sizeof pool_s);
  fprintf(stderr, "null-dhcp: answering on %s udp/67 as %s, pool %s + %u addresses, batch %u\n", cfg.iface,
          server_s, pool_s, cfg.pool_size, cfg.batch);

  static uint8_t in[MAX_BATCH][PKT_MAX], out[MAX_BATCH][PKT_MAX];
  static struct iovec in_iov[MAX_BATCH], out_iov[MAX_BATCH];
  static struct mmsghdr in_msg[MAX_BATCH], out_msg[MAX_BATCH];
  static struct sockaddr_in from[MAX_BATCH], to[MAX_BATCH];
  for (unsigned i = 0; i < cfg.batch; i++) {
    in_iov[i] = (struct iovec){.iov_base = in[i], .iov_len = PKT_MAX};
    in_msg[i].msg_hdr = (struct msghdr){.msg_iov = &in_iov[i], .msg_iovlen = 1};
  }
  struct counters n = {0};
  uint32_t next = 0;
  while (!stopping) {
    for (unsigned i = 0; i < cfg.batch; i++) {
      in_msg[i].msg_hdr.msg_name = &from[i];
      in_msg[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int got = recvmmsg(fd, in_msg, cfg.batch, MSG_WAITFORONE, NULL);
    if (got < 0) {
      if (errno == EINTR) continue;
      perror("null-dhcp: recvmmsg");
      return 1;
    }
    n.batches++;
    n.received += (unsigned)got;
    unsigned k = 0;
    for (int i = 0; i < got; i++) {
      size_t len = answer(&cfg, &next, in[i], in_msg[i].msg_len, out[k], &to[k], &n);
      if (len == 0) {
        n.ignored++;
        continue;
      }
      out_iov[k] = (struct iovec){.iov_base = out[k], .iov_len = len};
      out_msg[k].msg_hdr = (struct msghdr){.msg_name = &to[k], .msg_namelen = sizeof to[k],
                                           .msg_iov = &out_iov[k], .msg_iovlen = 1};
      k++;
    }
    for (unsigned done = 0; done < k;) {
      int sent = sendmmsg(fd, out_msg + done, k - done, 0);
      if (sent < 0) {
        if (errno == EINTR) continue;
        n.send_errors++; /* skip the datagram that failed, send the rest */
        done++;
        continue;
      }
      done += (unsigned)sent;
    }
  }
  fprintf(stderr,
          "null-dhcp: %llu received in %llu batches, %llu offers, %llu acks, %llu ignored, %llu send errors\n",
          n.received, n.batches, n.offers, n.acks, n.ignored, n.send_errors);
  close(fd);
  return 0;
}
