/* event_ring.h - a bounded single-producer single-consumer ring of engine
 * events, the hand-off from the engine thread to a consumer thread.
 *
 * The producer copies a whole batch of events in, and publishes its head
 * only once EVENT_RING_PUBLISH events are pending (or on flush, at the end
 * of an input batch): publishing per command had the consumer reading the
 * very cache lines the producer was writing, and every publication is a
 * cache-line round trip (measured: every 64 events cost the deep-book
 * regime 15% against every 256; beyond 256 it is flat). It reads the
 * consumer's tail only when its cached copy says the ring is too full. The
 * consumer reads events in place and publishes its tail every
 * EVENT_RING_RELEASE events or when it runs dry.
 * Head and tail live on separate cache lines, so the two threads exchange a
 * cache line once per batch, not once per event. A full ring makes the
 * producer wait: the benchmark measures the engine with a consumer that
 * keeps up, it never drops.
 */
#ifndef XT_BENCH_EVENT_RING_H
#define XT_BENCH_EVENT_RING_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xt/error.h"
#include "xt/event.h"

#define EVENT_RING_PUBLISH 256 /* producer: events per head publication */
#define EVENT_RING_RELEASE 64  /* consumer: events per tail publication */

typedef struct event_ring {
    _Alignas(64) _Atomic uint64_t head; /* published by the producer */
    _Alignas(64) _Atomic uint64_t tail; /* published by the consumer */
    _Alignas(64) uint64_t p_head;       /* producer: next slot to write */
    uint64_t p_tail;                    /* producer: last tail seen */
    uint64_t p_pub;                     /* producer: head last published */
    _Alignas(64) uint64_t c_tail;       /* consumer: next slot to read */
    uint64_t c_head;                    /* consumer: last head seen */
    _Alignas(64) xt_event_t *slots;
    uint64_t mask;
} event_ring_t;

static inline int event_ring_init(event_ring_t *r, uint32_t capacity_pow2)
{
    r->slots = aligned_alloc(64, (size_t)capacity_pow2 * sizeof(xt_event_t));
    if (!r->slots)
        return XT_ENOMEM;
    r->mask = capacity_pow2 - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->p_head = r->p_tail = r->p_pub = r->c_tail = r->c_head = 0;
    return 0;
}

static inline void event_ring_destroy(event_ring_t *r)
{
    free(r->slots);
}

static inline void event_ring_idle(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void event_ring_flush(event_ring_t *r)
{
    atomic_store_explicit(&r->head, r->p_head, memory_order_release);
    r->p_pub = r->p_head;
}

/* Producer: appends n events (n <= capacity). */
static inline void event_ring_push_n(event_ring_t *r, const xt_event_t *ev, uint32_t n)
{
    uint64_t cap = r->mask + 1;
    if (r->p_head + n - r->p_tail > cap) {
        event_ring_flush(r); /* the consumer may be waiting for what we hold */
        while ((r->p_tail = atomic_load_explicit(&r->tail, memory_order_acquire)), r->p_head + n - r->p_tail > cap)
            event_ring_idle();
    }
    for (uint32_t i = 0; i < n; i++) /* a couple of events per command: no memcpy call */
        r->slots[(r->p_head + i) & r->mask] = ev[i];
    r->p_head += n;
    if (r->p_head - r->p_pub >= EVENT_RING_PUBLISH)
        event_ring_flush(r);
}

/* Consumer: the next published event, read in place, or NULL. Call
 * event_ring_next() when done with it. */
static inline const xt_event_t *event_ring_peek(event_ring_t *r)
{
    if (r->c_tail == r->c_head) {
        r->c_head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (r->c_tail == r->c_head)
            return NULL;
    }
    return &r->slots[r->c_tail & r->mask];
}

static inline void event_ring_next(event_ring_t *r)
{
    if ((++r->c_tail & (EVENT_RING_RELEASE - 1)) == 0)
        atomic_store_explicit(&r->tail, r->c_tail, memory_order_release);
}

/* Consumer: publishes its position (so a waiting producer moves on). */
static inline void event_ring_release(event_ring_t *r)
{
    atomic_store_explicit(&r->tail, r->c_tail, memory_order_release);
}

static inline int event_ring_empty(event_ring_t *r)
{
    return r->c_tail == atomic_load_explicit(&r->head, memory_order_acquire);
}

#endif
