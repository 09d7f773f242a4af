/* outlog.h - the sequenced-message log: the engine thread's output to the
 * I/O thread, and the store that resumes are served from.
 *
 * A ring of `cap` fixed slots written by the engine thread only. Position p
 * (0, 1, 2, ... for the life of the data directory) lives in slot p % cap.
 * The engine writes slots ahead and then publishes `released` after the
 * batch that produced them is durable; the I/O thread reads up to it. Each
 * slot links to the previous slot of the same session, so a resume walks a
 * session's recent messages backwards. A slot being overwritten is detected
 * by a per-slot sequence (seqlock): a reader never uses a torn copy.
 *
 * Ephemeral slots (unsequenced answers of the engine thread: status
 * replies, mass-cancel acks, OPEN_ORDER_LIMIT rejects) go to one
 * connection, are not linked into their session and are never resent.
 *
 * Control slots carry no frame: the engine thread's answer to a gateway
 * request about a session itself (XT_REQ_SESSION_END: ended, or kept
 * because it has open orders; XT_REQ_SESSION_SEQ: its numbers); `conn`
 * holds the code (XT_OL_ENDED, XT_OL_KEPT, XT_OL_SEQ). KEPT and SEQ carry
 * the session's last sequence number and its last message's position + 1
 * (0 and 0: none) as two little-endian u64 in frame[0..16), with len 0:
 * a snapshot loads len bytes of a frame, so a loaded control slot has no
 * values - and none is routed again (the gateway starts at the log's
 * head). XT_OL_BAND answers an XT_REQ_BAND_MOVE in its place among the
 * answers: `session` is the instrument, `account` 0 when the band moved,
 * else the refusal's XT_E* code negated. Every reader of the log skips
 * control slots (XT_OL_CONTROL) but the gateway's routing, and none is on
 * a session's chain (prev1). They are never sent to a client.
 */
#ifndef XT_SERVER_OUTLOG_H
#define XT_SERVER_OUTLOG_H

#include <stdatomic.h>
#include <stdint.h>

#define XT_OUTLOG_FRAME 88
#define XT_OUTLOG_POS_MAX (UINT64_C(1) << 62) /* positions stay below it (a snapshot saying more is refused) */

enum { XT_OL_EPHEMERAL = 1, XT_OL_CONTROL = 2 };
enum { XT_OL_ENDED = 1, XT_OL_KEPT = 2, XT_OL_BAND = 3, XT_OL_SEQ = 4 }; /* control codes */
#define XT_OL_CONTROL_VALUES 16 /* the bytes of frame a control slot's values take */

typedef struct xt_outlog_slot {
    _Atomic uint64_t stamp; /* position + 1 when complete; 0 while being written */
    uint64_t prev1;         /* position + 1 of the session's previous message; 0: none */
    uint32_t account, session;
    uint32_t conn; /* ephemeral: the connection it answers; control: the code */
    uint16_t len;
    uint8_t flags;
    uint8_t pad;
    uint8_t frame[XT_OUTLOG_FRAME];
} xt_outlog_slot_t;

typedef struct xt_outlog {
    xt_outlog_slot_t *slots;
    uint64_t cap;
    uint64_t head;             /* engine: next position to write */
    _Atomic uint64_t released; /* positions below it may be sent */
    _Atomic uint64_t consumed; /* I/O thread: positions below it are read */
} xt_outlog_t;

/* cap >= 2; page_flags: XT_PAGES_TOUCH (core/pages.h) to fault the log in
 * now, else its pages are touched as it fills. Returns 0 or XT_ENOMEM. */
int xt_outlog_init(xt_outlog_t *l, uint64_t cap, unsigned page_flags);
void xt_outlog_destroy(xt_outlog_t *l);

/* Engine: appends a message; returns its position. */
uint64_t xt_outlog_append(xt_outlog_t *l, uint32_t account, uint32_t session, uint64_t prev1, uint32_t conn,
                          uint8_t flags, const uint8_t *frame, uint16_t len);

/* Engine: appends a control slot (len 0) whose frame holds v0 and v1. */
uint64_t xt_outlog_append_control(xt_outlog_t *l, uint32_t account, uint32_t session, uint32_t code, uint64_t v0,
                                  uint64_t v1);

/* Engine: everything appended so far may be sent. */
static inline void xt_outlog_release(xt_outlog_t *l)
{
    atomic_store_explicit(&l->released, l->head, memory_order_release);
}

/* Reader: copies slot `pos` into out. Returns 0, or -1 if that position has
 * been overwritten (or was never written). */
int xt_outlog_read(const xt_outlog_t *l, uint64_t pos, xt_outlog_slot_t *out);

#endif
