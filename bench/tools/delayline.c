/*
 * delayline: a fixed one-way delay between two network interfaces, in user space, for kernels
 * built without sch_netem (this project's VM: `tc qdisc add ... netem` says "Specified qdisc
 * kind is unknown"). bench/tftp.sh's emulated-RTT cases run through it there.
 *
 * Usage: delayline IF_A IF_B DELAY_US
 *   Every Ethernet frame that arrives on IF_A leaves on IF_B DELAY_US microseconds later, and
 *   the other way round: an L2 cable with DELAY_US of latency each way (RTT = 2 x DELAY_US).
 *   Run it in the namespace that holds both interfaces; it never touches any other. SIGTERM
 *   or SIGINT stops it; it then prints, per direction, the frames forwarded and dropped.
 *
 * How: one AF_PACKET socket per interface (packet(7)), bound to ETH_P_ALL on that interface,
 * PACKET_IGNORE_OUTGOING so that it does not read back what it sends. PACKET_VNET_HDR: each
 * frame comes with a virtio_net_hdr, and leaves with the same one. A veth hands over UDP
 * datagrams with their checksum not yet computed (CHECKSUM_PARTIAL: the "hardware" would fill
 * it in); copied as bare bytes they would arrive with a wrong checksum and be dropped, while
 * the header tells the kernel to finish the checksum on the way out. It also carries
 * segmentation offload: a sender's UDP_SEGMENT send (metalseed's TFTP windows) crosses a veth
 * as one frame of up to 64 KiB, and leaves here as that one frame again. A frame read is
 * stamped with CLOCK_MONOTONIC and queued (a copy of its own size); the delay is fixed, so each
 * direction's queue is a FIFO in due order. ppoll(2) sleeps until a socket is readable or the oldest frame is due. A frame
 * that finds its queue full (QUEUE frames in flight) is dropped and counted, as a link whose
 * buffer overflowed would drop it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23 /* Linux 4.20 */
#endif

#define QUEUE 65536               /* frames in flight per direction */
#define FRAME_MAX (65536 + 1024)  /* a virtio_net_hdr and a GSO frame of up to 64 KiB */
#define SOCKBUF (8 << 20)         /* each socket's receive and send buffer */

struct dir {
  int in, out;                /* read from `in`, send on `out` */
  unsigned head, count;       /* FIFO of due frames */
  uint64_t due[QUEUE];
  uint32_t len[QUEUE];
  unsigned char *frame[QUEUE];
  unsigned long forwarded, dropped, send_failed, offloaded;
  const char *name;
};

static unsigned char scratch[FRAME_MAX];

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int open_on(const char *ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) { perror("delayline: socket(AF_PACKET) (needs CAP_NET_RAW)"); exit(1); }
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) { fprintf(stderr, "delayline: no interface %s in this namespace\n", ifname); exit(1); }
  int one = 1, size = SOCKBUF;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    perror("delayline: PACKET_IGNORE_OUTGOING (Linux >= 4.20)");
    exit(1);
  }
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    perror("delayline: PACKET_VNET_HDR");
    exit(1);
  }
  /* FORCE: above net.core.rmem_max, which a namespace cannot raise; root has CAP_NET_ADMIN */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("delayline: bind"); exit(1); }
  return fd;
}

/* Reads every frame waiting on d->in into the queue, stamped due at now + delay. */
static void take(struct dir *d, uint64_t delay) {
  for (;;) {
    ssize_t n = recv(d->in, scratch, sizeof scratch, MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: nothing more now */
    }
    unsigned char *copy = d->count < QUEUE && n <= FRAME_MAX ? malloc((size_t)n) : NULL;
    if (!copy) { d->dropped++; continue; }
    memcpy(copy, scratch, (size_t)n);
    if ((size_t)n >= sizeof(struct virtio_net_hdr) &&
        ((struct virtio_net_hdr *)scratch)->gso_type != VIRTIO_NET_HDR_GSO_NONE)
      d->offloaded++;
    unsigned slot = (d->head + d->count) % QUEUE;
    d->frame[slot] = copy;
    d->due[slot] = now_ns() + delay;
    d->len[slot] = (uint32_t)n;
    d->count++;
  }
}

/* Sends every queued frame that is due; returns when the oldest is not yet. */
static void give(struct dir *d, uint64_t now) {
  while (d->count > 0 && d->due[d->head] <= now) {
    if (send(d->out, d->frame[d->head], d->len[d->head], 0) < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) return; /* the device is busy: again on the next turn */
      d->send_failed++;
    } else {
      d->forwarded++;
    }
    free(d->frame[d->head]);
    d->head = (d->head + 1) % QUEUE;
    d->count--;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: delayline IF_A IF_B DELAY_US  (frames each way leave DELAY_US later)\n");
    return 2;
  }
  char *end;
  long us = strtol(argv[3], &end, 10);
  if (*end != '\0' || us < 0 || us > 10000000) {
    fprintf(stderr, "delayline: DELAY_US must be 0..10000000 microseconds, not %s\n", argv[3]);
    return 2;
  }
  uint64_t delay = (uint64_t)us * 1000u;
  int a = open_on(argv[1]), b = open_on(argv[2]);
  static struct dir dirs[2];
  dirs[0] = (struct dir){.in = a, .out = b, .name = argv[1]};
  dirs[1] = (struct dir){.in = b, .out = a, .name = argv[2]};
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(stderr, "delayline: %s <-> %s, %ld us each way\n", argv[1], argv[2], us);
  fflush(stderr);

  struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
  while (!stop) {
    uint64_t now = now_ns(), next = UINT64_MAX;
    for (int i = 0; i < 2; i++) {
      give(&dirs[i], now);
      if (dirs[i].count > 0 && dirs[i].due[dirs[i].head] < next) next = dirs[i].due[dirs[i].head];
    }
    struct timespec wait, *timeout = NULL;
    if (next != UINT64_MAX) {
      uint64_t left = next > now ? next - now : 0;
      wait.tv_sec = (time_t)(left / 1000000000u);
      wait.tv_nsec = (long)(left % 1000000000u);
      timeout = &wait;
    }
    if (ppoll(p, 2, timeout, NULL) < 0 && errno != EINTR) { perror("delayline: ppoll"); return 1; }
    for (int i = 0; i < 2; i++)
      if (p[i].revents & POLLIN) take(&dirs[i], delay);
  }
  for (int i = 0; i < 2; i++)
    fprintf(stderr,
            "delayline: from %s: %lu forwarded (%lu with segmentation offload), %lu dropped (queue full), %lu send errors\n",
            dirs[i].name, dirs[i].forwarded, dirs[i].offloaded, dirs[i].dropped, dirs[i].send_failed);
  return 0;
}
