/* manifest.c - see manifest.h. Layout, 16 bytes, little-endian: magic
 * "XTWL" (u32 0x4C575458), CRC32C of the next 8 bytes (u32), the newest
 * segment's first sequence number (u64). */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"
#include "crc32c.h"
#include "dir.h"
#include "segment.h"
#include "xt/error.h"

#define MANIFEST_MAGIC 0x4C575458u /* "XTWL" */
#define MANIFEST_LEN 16

int xt_manifest_write(xt_io_t *io, const char *dir, uint64_t first_seq)
{
    uint8_t b[MANIFEST_LEN];
    xt_put32(b, MANIFEST_MAGIC);
    xt_put64(b + 8, first_seq);
    xt_put32(b + 4, xt_crc32c(b + 8, 8));
    return xt_io_replace_file(io, dir, XT_MANIFEST_FILE, b, sizeof b);
}

int xt_manifest_read(xt_io_t *io, const char *dir, uint64_t *first_seq)
{
    char path[XT_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, XT_MANIFEST_FILE) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int rc;
    int fd = io->open(io, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    off_t size = 0;
    uint8_t b[MANIFEST_LEN];
    rc = io->size(io, fd, &size);
    if (rc == 0)
        rc = size == MANIFEST_LEN ? xt_io_pread_all(io, fd, b, sizeof b, 0) : XT_ECORRUPT;
    io->close(io, fd);
    if (rc)
        return rc == -ENODATA ? XT_ECORRUPT : rc;
    if (xt_get32(b) != MANIFEST_MAGIC || xt_get32(b + 4) != xt_crc32c(b + 8, 8))
        return XT_ECORRUPT;
    *first_seq = xt_get64(b + 8);
    return 0;
}

/* 1 when segment `first` has a header that checks (what a crash while it
 * was being created can leave without: it is not named then), or cannot
 * be read at all (the reader reports that). */
static int header_synced(xt_io_t *io, const char *dir, uint64_t first)
{
    char path[XT_PATH_MAX];
    if (xt_dir_path(path, sizeof path, dir, XT_FILE_WAL, first) != 0)
        return 1;
    int fd = io->open(io, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    uint8_t hdr[XT_SEG_HDR];
    uint64_t seq;
    xt_caps_t caps;
    uint32_t window;
    off_t size = 0;
    uint32_t version, rules; /* a newer build's header was synced too: reading it says what it is */
    int ok = io->size(io, fd, &size) == 0 && size >= XT_SEG_HDR && xt_io_pread_all(io, fd, hdr, sizeof hdr, 0) == 0 &&
             (xt_segment_header_ok(hdr, &seq, &caps, &window) || xt_segment_header_newer(hdr, &version, &rules));
    io->close(io, fd);
    return ok;
}

int xt_manifest_check(xt_io_t *io, const char *dir, char *why, size_t whylen)
{
    uint64_t marked = 0, *segs = NULL;
    size_t n = 0;
    int rc = xt_manifest_read(io, dir, &marked);
    if (rc == -ENOENT) /* a new directory, or one from before the file */
        return 0;
    if (rc) {
        snprintf(why, whylen, "%s/%s: %s: 'xtrading journal repair' writes it again from the segments there", dir,
                 XT_MANIFEST_FILE, xt_strerror(rc));
        return rc == XT_ECORRUPT ? rc : XT_ECORRUPT;
    }
    rc = xt_dir_list(dir, XT_FILE_WAL, &segs, &n);
    uint64_t newest = rc == 0 && n ? segs[n - 1] : 0;
    free(segs);
    if (rc && rc != -ENOENT) {
        snprintf(why, whylen, "%s: %s", dir, xt_strerror(rc));
        return rc;
    }
    if (newest == marked && !header_synced(io, dir, newest)) {
        snprintf(why, whylen,
                 "the journal's newest segment, the one from sequence %llu (%s names it), has no valid header: "
                 "%s is written only after a segment's header is synced, so the segment was cut or damaged "
                 "since, and the commands in it are lost; restore it from a replica or backup, or accept the "
                 "loss with 'xtrading journal repair'",
                 (unsigned long long)marked, XT_MANIFEST_FILE, XT_MANIFEST_FILE);
        return XT_ECORRUPT;
    }
    if (newest >= marked)
        return 0;
    if (n)
        snprintf(why, whylen,
                 "the journal's newest segment, the one from sequence %llu (%s names it), is missing; the newest "
                 "there starts at %llu: journal files are missing; restore them from a replica or backup, or accept "
                 "the loss with 'xtrading journal repair'",
                 (unsigned long long)marked, XT_MANIFEST_FILE, (unsigned long long)newest);
    else
        snprintf(why, whylen,
                 "the journal's segments are all missing (%s names one from sequence %llu): restore them from a "
                 "replica or backup, or accept the loss with 'xtrading journal repair'",
                 XT_MANIFEST_FILE, (unsigned long long)marked);
    return XT_ECORRUPT;
}
