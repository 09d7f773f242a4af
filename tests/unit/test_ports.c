/* test_ports.c - the server's ports bound before recovery and listened on
 * after it (src/server/ports.h): a port bound is refused to a second bind
 * (another server starting, SO_REUSEADDR or not) until it is closed, a
 * client is refused while it is only bound, and served once it listens,
 * also with a restart's TIME_WAIT connection on it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/ports.h"

static int connect_to(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : -errno;
    if (rc == 0)
        return fd;
    close(fd);
    return rc;
}

static void a_bound_port_is_refused_to_a_second_bind(void **state)
{
    (void)state;
    char why[160] = "";
    int a = -1, b = -1;
    uint16_t port = 0, port_b = 0;
    assert_int_equal(xt_port_bind("server.listen", "127.0.0.1", 0, &a, &port, why, sizeof why), 0);
    assert_true(a >= 0 && port != 0);
    /* a second server's bind, which sets SO_REUSEADDR as this one did */
    assert_int_equal(xt_port_bind("md.listen", "127.0.0.1", port, &b, &port_b, why, sizeof why), -1);
    assert_int_equal(b, -1);
    char want[160];
    snprintf(want, sizeof want, "md.listen 127.0.0.1:%u: %s", (unsigned)port, strerror(EADDRINUSE));
    assert_string_equal(why, want);
    /* while only bound a client is refused at once, not held in a backlog */
    assert_int_equal(connect_to(port), -ECONNREFUSED);
    assert_int_equal(xt_port_listen("server.listen", "127.0.0.1", port, a, why, sizeof why), 0);
    int c = connect_to(port);
    assert_true(c >= 0);
    close(c);
    close(a);
}

static void a_restart_binds_past_a_time_wait(void **state)
{
    (void)state;
    char why[160] = "";
    int a = -1;
    uint16_t port = 0;
    assert_int_equal(xt_port_bind("server.listen", "127.0.0.1", 0, &a, &port, why, sizeof why), 0);
    assert_int_equal(xt_port_listen("server.listen", "127.0.0.1", port, a, why, sizeof why), 0);
    int c = connect_to(port);
    assert_true(c >= 0);
    int s = accept(a, NULL, NULL);
    assert_true(s >= 0);
    close(s); /* the server's side closes first: its end stays in TIME_WAIT */
    char byte;
    assert_int_equal(read(c, &byte, 1), 0);
    close(c);
    close(a);
    uint16_t again = 0;
    assert_int_equal(xt_port_bind("server.listen", "127.0.0.1", port, &a, &again, why, sizeof why), 0);
    assert_int_equal(again, port);
    assert_int_equal(xt_port_listen("server.listen", "127.0.0.1", port, a, why, sizeof why), 0);
    close(a);
}

static void a_bad_address_is_named(void **state)
{
    (void)state;
    char why[160] = "";
    int a = 7;
    uint16_t port = 0;
    assert_int_equal(xt_port_bind("md.tcp_listen", "not-an-address", 9002, &a, &port, why, sizeof why), -1);
    assert_int_equal(a, -1);
    assert_string_equal(why, "md.tcp_listen: 'not-an-address' is not an IPv4 address");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_bound_port_is_refused_to_a_second_bind),
        cmocka_unit_test(a_restart_binds_past_a_time_wait),
        cmocka_unit_test(a_bad_address_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
