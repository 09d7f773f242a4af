/* sessions.h - the engine thread's view of order-entry sessions: which
 * session owns each open order, the session sequence numbers, the highest
 * client order id used, and the messages each engine event becomes.
 *
 * Deterministic: a function of the journaled commands (with their origin,
 * xt_cmd_t.session/clordid) and their events only, so recovery rebuilds it
 * exactly - from the snapshot extension (xt_sessions_ext) plus a replay of
 * the journal tail. Every message it makes goes into the outlog.
 *
 * Use per command: xt_sessions_begin(cmd) before xt_journal_submit, the
 * engine's events into xt_sessions_sink. Fixed capacities, allocated at
 * init; nothing allocated afterwards.
 *
 * Lifecycle: a session is created by the first event of a journaled
 * command from it, and forgotten when a journaled SESSION_END command for it
 * is applied (only while it has no open orders). Freed entries are reused;
 * table indices are not state (a snapshot lists the live sessions in index
 * order and recovery renumbers them).
 */
#ifndef XT_SERVER_SESSIONS_H
#define XT_SERVER_SESSIONS_H

#include <stdint.h>

#include "journal/snapshot.h"
#include "outlog.h"
#include "xt/command.h"
#include "xt/event.h"

#define XT_NIL UINT32_MAX

/* The order id a CANCEL/AMEND/STATUS names when its orig_clordid matches no
 * open order: none has it (order ids are journal sequence numbers), so the
 * core rejects UNKNOWN_ORDER, journaled like any reject; on the wire it is
 * reported as 0. */
#define XT_ORDER_ID_UNKNOWN INT64_MAX

typedef struct xt_sess {
    uint32_t account, number; /* account 0: a free entry (hnext links the free list) */
    uint64_t next_seq;        /* the number the next sequenced message gets */
    uint64_t last_clordid;    /* the highest journaled client order id */
    uint64_t last_pos1;       /* outlog position + 1 of its last message; 0: none */
    uint32_t open_head;       /* its open orders (xt_ordref_t list) */
    uint32_t n_open;
    uint32_t hnext;     /* hash chain */
    uint32_t acct_next; /* next session of the same account */
} xt_sess_t;

typedef struct xt_ordref {
    int64_t order_id;
    uint64_t clordid;
    uint32_t sess;       /* index; XT_NIL: a free entry */
    uint32_t prev, next; /* in the session's open list */
    uint32_t hnext_id;   /* chain by order id */
    uint32_t hnext_cl;   /* chain by (session, clordid), */
    uint32_t hprev_cl;   /* doubly linked: removal does not walk a chain a client can make long */
} xt_ordref_t;

typedef struct xt_acct {
    uint32_t account; /* 0: a free entry (hnext links the free list) */
    uint32_t open;    /* open orders */
    uint32_t first_sess;
    uint32_t hnext;
} xt_acct_t;

typedef struct xt_sessions {
    xt_outlog_t *log;
    uint32_t max_sessions;
    uint32_t n_sessions; /* entries ever used (live or free): iterate sess[0..n_sessions) skipping account 0 */
    uint32_t n_live, free_sess;
    xt_sess_t *sess;
    uint32_t *sess_buckets, sess_mask;
    xt_acct_t *acct;
    uint32_t n_acct, free_acct, *acct_buckets;
    uint32_t max_refs, free_ref;
    xt_ordref_t *refs;
    uint32_t *id_buckets, *cl_buckets, ref_mask;
    uint64_t salt; /* keys the hashes of client-chosen numbers (random per process; layout is not state) */
    /* the command being applied */
    const xt_cmd_t *cur;
    uint32_t cur_sess; /* XT_NIL until its first event (or without origin) */
    uint64_t messages; /* sequenced messages made */
    /* events of commands whose session the full table had no room for:
     * only a journal replayed with server.max_sessions lowered below the
     * sessions it holds (the gateway refuses logins to a full table) - the
     * start refuses it, as a snapshot holding too many */
    uint64_t no_room;
    /* orders placed through a session that found no room to be tracked: the
     * table is sized from engine.max_orders, and a journal replays under
     * its segments' own capacities - larger where the key was lowered
     * since (the start refuses it too) */
    uint64_t no_ref;
    xt_snap_ext_t ext;
} xt_sessions_t;

/* max_orders: the engine's; page_flags: XT_PAGES_TOUCH (core/pages.h) to fault
 * the tables in now. Returns 0 or XT_ENOMEM. */
int xt_sessions_init(xt_sessions_t *s, xt_outlog_t *log, uint32_t max_sessions, uint32_t max_orders,
                     unsigned page_flags);
void xt_sessions_destroy(xt_sessions_t *s);

/* The command about to be applied (borrowed until its last event). */
void xt_sessions_begin(xt_sessions_t *s, const xt_cmd_t *cmd);

/* The engine's sink; ctx is the xt_sessions_t. */
void xt_sessions_sink(void *ctx, const xt_event_batch_t *b);

/* Looks a session up; XT_NIL if it has never had a journaled command. */
uint32_t xt_sessions_find(const xt_sessions_t *s, uint32_t account, uint32_t number);

/* The open order placed in session `sess` with clordid; 0 if none. */
int64_t xt_sessions_order_by_clordid(const xt_sessions_t *s, uint32_t sess, uint64_t clordid);
/* The ref of an open order id, or NULL. */
const xt_ordref_t *xt_sessions_ref(const xt_sessions_t *s, int64_t order_id);
/* Open orders of an account (0 if unknown). */
uint32_t xt_sessions_account_open(const xt_sessions_t *s, uint32_t account);
/* First session of an account, XT_NIL if none (then follow acct_next). */
uint32_t xt_sessions_account_first(const xt_sessions_t *s, uint32_t account);

/* Appends an unsequenced (ephemeral) answer for connection `conn` of
 * (account, number); its header seq is set to the session's last number. */
void xt_sessions_ephemeral(xt_sessions_t *s, uint32_t account, uint32_t number, uint32_t conn, uint8_t *frame,
                           uint16_t len);

/* Appends a control slot (XT_OL_BAND's) for the gateway. */
void xt_sessions_control(xt_sessions_t *s, uint32_t account, uint32_t number, uint32_t code);

/* Appends the answer (XT_OL_ENDED, XT_OL_KEPT, XT_OL_SEQ) to a gateway's
 * request about session (account, number), with the session's last
 * sequence number and its last message's position + 1 (0 and 0 if the
 * table does not have it). */
void xt_sessions_answer(xt_sessions_t *s, uint32_t account, uint32_t number, uint32_t code);

/* Is the table full (a command from a session it does not know would find
 * no entry)? */
static inline int xt_sessions_full(const xt_sessions_t *s)
{
    return s->n_live >= s->max_sessions;
}

#endif
