/* error.h - return codes shared by every xtrading library.
 *
 * Functions return int: 0 on success, a negative XT_E* code, or -errno for
 * errors that come straight from the operating system. The XT_E* codes are
 * all below -10000 so they never collide with -errno. A rejected order is not
 * an error: it is an event with a reason (see event.h).
 */
#ifndef XT_ERROR_H
#define XT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    XT_OK = 0,
    XT_EINVAL = -10001,    /* malformed argument (bad enum, id <= 0, ...) */
    XT_ENOMEM = -10002,    /* allocation failed (only at init) */
    XT_ENOENT = -10003,    /* no such object (query found nothing) */
    XT_EEXIST = -10004,    /* object already exists (an instrument defined again, not only its band) */
    XT_ERANGE = -10005,    /* number out of the representable range */
    XT_ECAPACITY = -10006, /* a fixed-capacity table is full */
    XT_ESEQ = -10007,      /* sequence number out of order (engine: not increasing; client: a gap) */
    XT_ECORRUPT = -10008,  /* an internal invariant does not hold */
    XT_EPARSE = -10009,    /* text that does not parse */
    XT_ETORN = -10010,     /* a journal ends in an incomplete (torn) record */
    XT_EFAILED = -10011,   /* the journal failed closed after a write error */
    XT_ELOCKED = -10012,   /* the data directory is in use by another process */
    XT_ELIMIT = -10013,    /* a count or capacity read from a file exceeds what this process is set up for */
    XT_EBUSY = -10014,     /* the engine was called from inside its own event sink */
    XT_ENOTFILE = -10015,  /* a FIFO, device or socket where a regular file was expected */
};

/* Returns a static, human-readable name for `code` (an XT_E* code or
 * -errno). Never returns NULL. */
const char *xt_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
