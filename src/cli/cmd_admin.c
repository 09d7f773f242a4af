/* cmd_admin.c - xtrading admin: sends one request line to a running
 * server's admin socket (docs/admin.md) and prints its JSON answer.
 *
 * The socket is --socket PATH, or the server.admin_socket of the settings
 * --config FILE and --data DIR give (the embedded defaults without them:
 * data/admin.sock). Exit status: 0 the answer is {"ok":true,...}, 1 it is
 * an error answer, 2 bad usage or no answer (no such socket, no server,
 * timeout). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "server/admin_cmd.h"

#define ANSWER_MAX 131072 /* the server's XT_ADMIN_OUT */
#define TIMEOUT_MS 10000

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading admin [--socket PATH | --config FILE | --data DIR] COMMAND [ARGS...]\n"
               "\n"
               "Sends COMMAND to a running server's admin socket and prints the JSON answer:\n"
               "  sessions [ACCOUNT]            the sessions the gateway holds (connected or not)\n"
               "  kick ACCOUNT SESSION          close that session's connection (ERROR KICKED)\n"
               "  halt SYMBOL | resume SYMBOL   reject NEW_ORDER and AMEND on SYMBOL with HALTED, or stop\n"
               "  mass-cancel ACCOUNT [SYMBOL]  cancel the account's open orders (all its sessions)\n"
               "  snapshot                      take a snapshot now\n"
               "  stats                         live statistics\n"
               "  instruments [SYMBOL]          the definitions in force: tick, lot, price band, halted\n"
               "  help                          the commands the server knows\n"
               "The socket: --socket PATH, else server.admin_socket of --config FILE and --data DIR\n"
               "(default: admin.sock in the data directory). docs/admin.md has the answers.\n"
               "Status: 0 ok, 1 the server answered an error, 2 bad usage or no answer.\n");
}

/* The socket path the settings give; 0, or XT_CLI_USAGE (printed). */
static int socket_path(const char *config, const char *data, char *out, size_t cap)
{
    static xt_server_config_t c;
    char why[XT_CONFIG_WHY_MAX] = "";
    xt_config_defaults(&c);
    if (config && xt_config_load(&c, config, why, sizeof why) != 0) {
        fprintf(stderr, "xtrading admin: %s\n", why);
        return XT_CLI_USAGE;
    }
    if (data && xt_config_set(&c, "journal.dir", data, why, sizeof why) != 0) {
        fprintf(stderr, "xtrading admin: %s\n", why);
        return XT_CLI_USAGE;
    }
    if (c.admin_off) {
        fprintf(stderr, "xtrading admin: server.admin_socket is off in these settings; give --socket PATH\n");
        return XT_CLI_USAGE;
    }
    if (xt_config_admin_path(&c, out, cap) < 0) {
        fprintf(stderr, "xtrading admin: the socket path is longer than %zu bytes\n", cap - 1);
        return XT_CLI_USAGE;
    }
    return 0;
}

/* COMMAND ARGS... as one request line (with its newline). */
static int request_line(int argc, char **argv, char *out, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (strpbrk(argv[i], "\r\n") || len + n + 2 > cap) {
            fprintf(stderr, "xtrading admin: %s\n",
                    strpbrk(argv[i], "\r\n") ? "an argument holds a line break" : "the request is too long");
            return XT_CLI_USAGE;
        }
        if (i)
            out[len++] = ' ';
        memcpy(out + len, argv[i], n);
        len += n;
    }
    out[len++] = '\n';
    out[len] = '\0';
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads one answer line into buf; its length, or -1 (message printed). */
static ssize_t read_answer(int fd, const char *path, char *buf, size_t cap)
{
    size_t len = 0;
    int64_t end = now_ms() + TIMEOUT_MS;
    while (len == 0 || buf[len - 1] != '\n') {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = end - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            fprintf(stderr, "xtrading admin: %s: no answer within %d s\n", path, TIMEOUT_MS / 1000);
            return -1;
        }
        ssize_t n = len < cap ? read(fd, buf + len, cap - len) : -1;
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            fprintf(stderr, "xtrading admin: %s: %s\n", path,
                    n == 0       ? "the server closed the connection without an answer"
                    : len >= cap ? "the answer is too long"
                                 : strerror(errno));
            return -1;
        }
        len += n > 0 ? (size_t)n : 0;
    }
    return (ssize_t)len;
}

static int exchange(const char *path, const char *line)
{
    static char buf[ANSWER_MAX + 1];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "xtrading admin: %s: longer than %zu bytes, a Unix socket's limit\n", path,
                sizeof sa.sun_path - 1);
        return XT_CLI_USAGE;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "xtrading admin: cannot connect to %s: %s (is the server running with this admin socket?)\n",
                path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return XT_CLI_USAGE;
    }
    ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL);
    if (n == (ssize_t)strlen(line)) {
        n = read_answer(fd, path, buf, sizeof buf - 1);
    } else {
        /* A server that refuses the connection (too many admin
         * connections) writes why and closes: the send may fail on that
         * close, and its line is what to print. */
        int err = n < 0 ? errno : 0;
        n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n <= 0 || buf[n - 1] != '\n') {
            fprintf(stderr, "xtrading admin: %s: %s\n", path, err ? strerror(err) : "short write");
            n = -1;
        }
    }
    close(fd);
    if (n <= 0)
        return XT_CLI_USAGE;
    buf[n] = '\0';
    fputs(buf, stdout);
    if (fflush(stdout) != 0)
        return 1;
    return strncmp(buf, "{\"ok\":true", 10) == 0 ? 0 : 1;
}

int xt_cmd_admin(int argc, char **argv)
{
    const char *sock = NULL, *config = NULL, *data = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        const char *a = argv[i];
        if (xt_cli_is_help(a)) {
            usage(stdout);
            return 0;
        }
        const char **slot = strcmp(a, "--socket") == 0   ? &sock
                            : strcmp(a, "--config") == 0 ? &config
                            : strcmp(a, "--data") == 0   ? &data
                                                         : NULL;
        if (!slot || i + 1 >= argc || argv[i + 1][0] == '\0') {
            fprintf(stderr, "xtrading admin: %s: %s\n", a, slot ? "needs a value" : "unknown option");
            usage(stderr);
            return XT_CLI_USAGE;
        }
        if (*slot)
            return xt_cli_given_twice("xtrading admin", a);
        *slot = argv[i + 1];
    }
    if (i >= argc) {
        fprintf(stderr, "xtrading admin: needs a COMMAND\n");
        usage(stderr);
        return XT_CLI_USAGE;
    }
    /* `admin halt --help` is asked of this tool, not the server (which
     * would take it for a symbol); not -h after the command: a symbol may
     * be "-h". A "--" after the command ends that: it is dropped, and the
     * words after it are sent as they are (`admin halt -- --help` halts
     * the instrument "--help"). */
    for (int k = i + 1; k < argc; k++)
        if (strcmp(argv[k], "--") == 0) {
            memmove(&argv[k], &argv[k + 1], (size_t)(argc - k - 1) * sizeof argv[0]);
            argc--;
            break;
        } else if (strcmp(argv[k], "--help") == 0) {
            usage(stdout);
            return 0;
        }
    char path[XT_CONFIG_PATH_MAX + 16], line[XT_ADMIN_LINE_MAX + 2];
    if (!sock && socket_path(config, data, path, sizeof path) != 0)
        return XT_CLI_USAGE;
    if (request_line(argc - i, argv + i, line, sizeof line) != 0)
        return XT_CLI_USAGE;
    return exchange(sock ? sock : path, line);
}
