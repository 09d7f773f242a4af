/* md_oe.h - order entry over REST (docs/rest.md, "Orders"): POST, PUT,
 * DELETE and GET under /api/v1/orders, answered on the market-data thread
 * once md_rest.c has checked the request's signature (rest_auth.h). */
#ifndef XT_SERVER_MD_OE_H
#define XT_SERVER_MD_OE_H

#include <stddef.h>
#include <stdint.h>

#include "md_internal.h"

/* What xt_mds_oe_rest (and xt_mds_rest_answer) return when the answer
 * will be queued later: nothing is to be sent now. */
#define XT_REST_DEFERRED 0

/* Serves an authenticated /api/v1/orders request for account; returns the
 * answer's length in m->http_out as xt_mds_rest_answer does, or
 * XT_REST_DEFERRED when the answer will be queued later. */
int xt_mds_oe_rest(mds_t *m, uint32_t c, uint32_t account, const xt_http_req_t *req, const char *body, size_t body_len,
                   int keep);

#endif
