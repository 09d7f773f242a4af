/* md_oe_stub.c - a stand-in for order entry over REST (md_oe.h) until it
 * is built: every authenticated /api/v1/orders request is answered 503. */
#include "md_oe.h"

#include "md_rest.h"

int xt_mds_oe_rest(mds_t *m, uint32_t c, uint32_t account, const xt_http_req_t *req, const char *body, size_t body_len,
                   int keep)
{
    (void)c;
    (void)account;
    (void)req;
    (void)body;
    (void)body_len;
    return xt_rest_error(m->http_out, m->http_cap + 1024, 503, "order entry over REST is not available yet", keep);
}
