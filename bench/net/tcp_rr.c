/* TCP request/response latency, netperf TCP_RR style: the client sends SIZE bytes, the server
 * echoes them, COUNT times over one connection (TCP_NODELAY); the client prints the round-trip
 * percentiles in microseconds. Plain C so it builds static and runs in any guest.
 *   tcp_rr -s PORT                       serve (one client at a time, forever)
 *   tcp_rr -c HOST PORT [COUNT] [SIZE]   measure (default 20000 round trips of 1 byte)
 * Output (one line): "rr count=N size=S p50_us=X p90_us=X p99_us=X mean_us=X trans_per_s=X" */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int full(int fd, char* buf, size_t len, int writing) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = writing ? write(fd, buf + done, len - done) : read(fd, buf + done, len - done);
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int one = 1;
  if (argc >= 3 && strcmp(argv[1], "-s") == 0) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr*)&a, sizeof a) || listen(ls, 4)) {
      perror("tcp_rr: listen");
      return 1;
    }
    for (;;) {
      int c = accept(ls, NULL, NULL);
      if (c < 0) continue;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char buf[65536];
      unsigned size;
      if (full(c, (char*)&size, sizeof size, 0) == 0 && size > 0 && size <= sizeof buf) {
        while (full(c, buf, size, 0) == 0 && full(c, buf, size, 1) == 0) {
        }
      }
      close(c);
    }
  }
  if (argc < 4 || strcmp(argv[1], "-c") != 0) {
    fprintf(stderr, "usage: tcp_rr -s PORT | tcp_rr -c HOST PORT [COUNT] [SIZE]\n");
    return 2;
  }
  int count = argc > 4 ? atoi(argv[4]) : 20000;
  unsigned size = argc > 5 ? (unsigned)atoi(argv[5]) : 1;
  if (count < 1 || size < 1 || size > 65536) return 2;
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((unsigned short)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) {
    fprintf(stderr, "tcp_rr: HOST is an IPv4 address\n");
    return 2;
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr*)&to, sizeof to)) {
    perror("tcp_rr: connect");
    return 1;
  }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char* buf = calloc(size, 1);
  double* t = malloc(sizeof(double) * (size_t)count);
  if (full(s, (char*)&size, sizeof size, 1)) return 1;
  for (int i = 0; i < 100; ++i) /* warm up */
    if (full(s, buf, size, 1) || full(s, buf, size, 0)) return 1;
  double start = now_us();
  for (int i = 0; i < count; ++i) {
    double t0 = now_us();
    if (full(s, buf, size, 1) || full(s, buf, size, 0)) {
      perror("tcp_rr");
      return 1;
    }
    t[i] = now_us() - t0;
  }
  double total = now_us() - start;
  qsort(t, (size_t)count, sizeof(double), cmp);
  printf("rr count=%d size=%u p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f trans_per_s=%.0f\n",
         count, size, t[count / 2], t[count * 9 / 10], t[count * 99 / 100], total / count,
         count / (total / 1e6));
  return 0;
}
