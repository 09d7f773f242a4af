/* text_file.c - see text_file.h. */
#include "text_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *xt_text_file_open(const char *path, off_t max, char *why, size_t whylen)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int err = errno;
        snprintf(why, whylen, "%s: %s", path, strerror(err));
        errno = err;
        return NULL;
    }
    struct stat st;
    int ok = 0;
    if (fstat(fd, &st) != 0)
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, whylen, "%s: not a regular file", path);
    else if (st.st_size > max)
        snprintf(why, whylen, "%s: too large (%lld bytes; at most %lld)", path, (long long)st.st_size, (long long)max);
    else
        ok = 1;
    if (!ok) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags != -1)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

int xt_text_file_line(FILE *f, char buf[XT_TEXT_LINE_MAX + 1])
{
    /* byte by byte (getc_unlocked: the stream is ours alone), so that a
     * NUL is seen rather than taken for the line's end by strlen */
    size_t n = 0;
    int c = EOF;
    while (n < XT_TEXT_LINE_MAX && (c = getc_unlocked(f)) != EOF) {
        if (c == '\0')
            return -3;
        buf[n++] = (char)c;
        if (c == '\n')
            break;
    }
    buf[n] = '\0';
    if (c == EOF && ferror(f))
        return -2;
    if (n == 0)
        return 0;
    if (n == XT_TEXT_LINE_MAX && buf[n - 1] != '\n' && getc_unlocked(f) != EOF)
        return -1; /* a line of exactly XT_TEXT_LINE_MAX bytes at the end of the file is fine */
    if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 && ftello(f) == (off_t)n) /* the first line (a regular file) */
        return -4;
    return 1;
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *xt_text_file_error(int got)
{
    switch (got) {
    case -1: return "line longer than " STR(XT_TEXT_LINE_MAX) " bytes";
    case -3: return "a NUL byte: not a text file";
    case -4: return "the file starts with a UTF-8 byte-order mark (EF BB BF): save it without one";
    default: return strerror(errno);
    }
}
