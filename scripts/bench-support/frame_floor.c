/* The floor for any request/response server on this machine: one epoll loop that splits the byte stream
 * into frames (4-byte big-endian length, then the body) and answers each frame with a fixed
 * {"status":"ok"}, without parsing JSON or storing anything. scripts/bench compiles it with gcc and drives it
 * with `client bench --op set`, so the floor and the store are measured by the same generator.
 *
 * usage: frame_floor PORT   (prints "listening on 127.0.0.1:PORT"; PORT 0 picks a free one)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { CONNECTIONS_MAX = 65536, INPUT_BYTES_MAX = 1 << 20, OUTPUT_BYTES_MAX = 1 << 20, EVENTS_MAX = 256 };

static const char reply[] = "\0\0\0\x0f{\"status\":\"ok\"}";
enum { REPLY_BYTES = 4 + 15 };

struct connection {
    unsigned char *input;
    size_t input_used;
    unsigned char *output;
    size_t output_used, output_sent;
    uint32_t interest;
};

static struct connection *connections[CONNECTIONS_MAX];

static void drop(int epoll_fd, int fd) {
    struct connection *c = connections[fd];
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (c) { free(c->input); free(c->output); free(c); }
    connections[fd] = NULL;
}

/* Writes what it can; returns -1 when the connection failed. */
static int flush(int epoll_fd, int fd, struct connection *c) {
    while (c->output_sent < c->output_used) {
        ssize_t n = send(fd, c->output + c->output_sent, c->output_used - c->output_sent, MSG_NOSIGNAL);
        if (n > 0) { c->output_sent += (size_t)n; continue; }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        return -1;
    }
    if (c->output_sent == c->output_used) { c->output_sent = c->output_used = 0; }
    uint32_t interest = EPOLLIN | (c->output_used ? EPOLLOUT : 0);
    if (interest != c->interest) {
        struct epoll_event event = { .events = interest, .data.fd = fd };
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event);
        c->interest = interest;
    }
    return 0;
}

/* One read per readiness event (epoll is level-triggered), then one write for every reply it completed. */
static int serve(int epoll_fd, int fd, struct connection *c) {
    {
        ssize_t n = read(fd, c->input + c->input_used, INPUT_BYTES_MAX - c->input_used);
        if (n == 0) return -1;
        if (n < 0) return (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        c->input_used += (size_t)n;
        size_t at = 0;
        while (c->input_used - at >= 4) {
            uint32_t length = (uint32_t)c->input[at] << 24 | (uint32_t)c->input[at + 1] << 16
                | (uint32_t)c->input[at + 2] << 8 | c->input[at + 3];
            if (length > INPUT_BYTES_MAX - 4) return -1;
            if (c->input_used - at < 4 + length) break;
            at += 4 + length;
            if (c->output_used + REPLY_BYTES > OUTPUT_BYTES_MAX) return -1;
            memcpy(c->output + c->output_used, reply, REPLY_BYTES);
            c->output_used += REPLY_BYTES;
        }
        memmove(c->input, c->input + at, c->input_used - at);
        c->input_used -= at;
        if (c->input_used == INPUT_BYTES_MAX) return -1;
    }
    return flush(epoll_fd, fd, c);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: frame_floor PORT\n"); return 64; }
    int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(listen_fd, 1024) != 0) {
        perror("frame_floor: bind/listen");
        return 71;
    }
    socklen_t length = sizeof address;
    getsockname(listen_fd, (struct sockaddr *)&address, &length);
    printf("listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stdout);
    int epoll_fd = epoll_create1(0);
    struct epoll_event event = { .events = EPOLLIN, .data.fd = listen_fd };
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &event);
    struct epoll_event events[EVENTS_MAX];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, EVENTS_MAX, -1);
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd == listen_fd) {
                int client;
                while ((client = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (client >= CONNECTIONS_MAX) { close(client); continue; }
                    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct connection *c = calloc(1, sizeof *c);
                    c->input = malloc(INPUT_BYTES_MAX);
                    c->output = malloc(OUTPUT_BYTES_MAX);
                    c->interest = EPOLLIN;
                    connections[client] = c;
                    struct epoll_event added = { .events = EPOLLIN, .data.fd = client };
                    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client, &added);
                }
                continue;
            }
            struct connection *c = connections[fd];
            if (!c) continue;
            int failed = (events[i].events & EPOLLIN) ? serve(epoll_fd, fd, c) : flush(epoll_fd, fd, c);
            int hung_up = (events[i].events & (EPOLLERR | EPOLLHUP)) && !(events[i].events & EPOLLIN);
            if (failed || hung_up) drop(epoll_fd, fd);
        }
    }
}
