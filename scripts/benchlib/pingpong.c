/* Loopback TCP round trips per second: the ceiling for any client/server statement rate
 * on this machine. One process, a listening socket on 127.0.0.1, N client threads each
 * connected to its own echo thread; every client sends a 64-byte message and waits for
 * the echo, for a fixed time, with TCP_NODELAY (as database drivers do).
 *
 * Usage: pingpong CONNECTIONS SECONDS   → prints "round_trips_per_second N"
 * Built by scripts/bench at run time (cc -O2 -pthread); no other dependencies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define MAXCONN 256

static volatile int stop_flag;
static int listen_fd;
static struct sockaddr_in addr;

static int full_io(int fd, char *buf, int n, int writing) {
    int done = 0;
    while (done < n) {
        ssize_t r = writing ? send(fd, buf + done, n - done, 0) : recv(fd, buf + done, n - done, 0);
        if (r <= 0) return -1;
        done += (int)r;
    }
    return 0;
}

static void *echo(void *arg) {
    int fd = (int)(long)arg;
    char buf[MSG];
    while (full_io(fd, buf, MSG, 0) == 0 && full_io(fd, buf, MSG, 1) == 0) {
    }
    close(fd);
    return NULL;
}

static void *client(void *arg) {
    long *count = arg;
    char buf[MSG];
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return NULL;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(buf, 'x', MSG);
    while (!stop_flag) {
        if (full_io(fd, buf, MSG, 1) != 0 || full_io(fd, buf, MSG, 0) != 0) break;
        (*count)++;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: pingpong CONNECTIONS SECONDS\n");
        return 2;
    }
    int n = atoi(argv[1]);
    double seconds = atof(argv[2]);
    if (n < 1 || n > MAXCONN || seconds <= 0) {
        fprintf(stderr, "pingpong: bad arguments\n");
        return 2;
    }
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listen_fd, MAXCONN) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&addr, &len) != 0) {
        perror("pingpong: listen");
        return 1;
    }
    static long counts[MAXCONN];
    pthread_t clients[MAXCONN], echoes[MAXCONN];
    for (int i = 0; i < n; i++) {
        pthread_create(&clients[i], NULL, client, &counts[i]);
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            perror("pingpong: accept");
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_create(&echoes[i], NULL, echo, (void *)(long)fd);
    }
    struct timespec t = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&t, NULL);
    stop_flag = 1;
    long total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(clients[i], NULL);
        total += counts[i];
    }
    for (int i = 0; i < n; i++) pthread_join(echoes[i], NULL);
    printf("round_trips_per_second %.0f\n", total / seconds);
    return 0;
}
