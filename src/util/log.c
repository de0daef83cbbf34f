/* log.c -- console output, one whole line per write(2).
 *
 * stdio buffering is not used: a line is formatted into a stack buffer and
 * written at once, so it reaches a pipe reader immediately and is never
 * interleaved with data written by log_data(). */
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"

#define LINE_MAX_LEN 4096

static enum log_level level = LOG_EVENTS;
static const char *program = "chatd";
static _Atomic uint64_t nlines;   /* echod's thread model logs too */
static int journal[3];          /* stdout, stderr: a journal stream */
static int words;               /* "warning: " on console warnings */

/* Buffered mode: stdout lines collect here until log_flush(), so a loop pass
 * that logs a hundred messages makes one write(2), not a hundred. */
static int buffered;
static int data_mid_line;       /* log_data() left stdout mid-line */
static char outbuf[64 * 1024];
static size_t outlen;

void
log_set_level(enum log_level l)
{
    level = l;
}

enum log_level
log_get_level(void)
{
    return level;
}

void
log_set_program(const char *name)
{
    program = name;
}

uint64_t
log_lines(void)
{
    return nlines;
}

int
log_journal_parse(const char *text, unsigned long long *dev,
                  unsigned long long *ino)
{
    unsigned long long v[2] = {0, 0};
    int i;

    if (text == NULL)
        return -1;
    for (i = 0; i < 2; i++) {
        const char *start = text;

        while (*text >= '0' && *text <= '9') {
            unsigned d = (unsigned)(*text++ - '0');

            if (v[i] > (~0ULL - d) / 10)
                return -1;
            v[i] = v[i] * 10 + d;
        }
        if (text == start || *text != (i == 0 ? ':' : '\0'))
            return -1;
        text++;
    }
    *dev = v[0];
    *ino = v[1];
    return 0;
}

void
log_detect_journal(void)
{
    unsigned long long dev, ino;
    struct stat st;
    int fd;

    if (log_journal_parse(getenv("JOURNAL_STREAM"), &dev, &ino) == -1)
        return;
    for (fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
        journal[fd] = fstat(fd, &st) == 0 &&
                      (unsigned long long)st.st_dev == dev &&
                      (unsigned long long)st.st_ino == ino;
}

void
log_set_words(int on)
{
    words = on;
}

size_t
log_format_prefix(char *buf, size_t len, enum log_pri pri,
                  const char *prog, int to_journal, int with_words)
{
    int n;

    if (len == 0)
        return 0;
    if (to_journal)
        n = snprintf(buf, len, "<%d>", (int)pri);
    else if (prog == NULL)
        n = snprintf(buf, len, "%s", "");
    else
        n = snprintf(buf, len, "%s: %s", prog,
                     with_words && pri == LOG_PRI_WARNING ? "warning: " : "");
    if (n < 0)
        n = 0;
    return (size_t)n < len ? (size_t)n : len - 1;
}

/* Format a line of priority pri (prefixed with the program's name when
 * named is set), fmt, and ": suffix" if any, and write it to fd. */
static void emit(int fd, enum log_pri pri, int named, const char *suffix,
                 const char *fmt, va_list ap) PRINTF_LIKE(5, 0);

static void
emit(int fd, enum log_pri pri, int named, const char *suffix,
     const char *fmt, va_list ap)
{
    char buf[LINE_MAX_LEN];
    size_t len;
    int n;

    len = log_format_prefix(buf, sizeof(buf), pri, named ? program : NULL,
                            journal[fd], words);
    n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
    if (n < 0)
        n = 0;
    len += (size_t)n;
    if (len > sizeof(buf) - 1)
        len = sizeof(buf) - 1;
    if (suffix != NULL) {
        size_t k = strlen(suffix) + 2;

        if (k > sizeof(buf) - 1 - len)
            k = sizeof(buf) - 1 - len;
        memcpy(buf + len, ": ", k < 2 ? k : 2);
        if (k > 2)
            memcpy(buf + len + 2, suffix, k - 2);
        len += k;
    }
    if (len >= sizeof(buf) - 1)
        len = sizeof(buf) - 2;          /* room for the newline */
    buf[len++] = '\n';
    nlines++;
    if (fd == STDOUT_FILENO && data_mid_line) {
        data_mid_line = 0;      /* a console line starts on its own line */
        if (buffered && outlen < sizeof(outbuf))
            outbuf[outlen++] = '\n';
        else
            (void)io_write_all(STDOUT_FILENO, "\n", 1);
    }
    if (fd == STDOUT_FILENO && buffered) {
        if (outlen + len > sizeof(outbuf))
            log_flush();
        memcpy(outbuf + outlen, buf, len);
        outlen += len;
        return;
    }
    if (fd == STDERR_FILENO)
        log_flush();                    /* keep stdout and stderr in order */
    (void)io_write_all(fd, buf, len);
}

void
log_set_buffered(int on)
{
    if (!on)
        log_flush();
    buffered = on;
}

void
log_flush(void)
{
    if (outlen > 0)
        (void)io_write_all(STDOUT_FILENO, outbuf, outlen);
    outlen = 0;
}

void
log_event(const char *fmt, ...)
{
    va_list ap;

    if (level < LOG_EVENTS)
        return;
    va_start(ap, fmt);
    emit(STDOUT_FILENO, LOG_PRI_INFO, 0, NULL, fmt, ap);
    va_end(ap);
}

void
log_line(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(STDOUT_FILENO, LOG_PRI_INFO, 0, NULL, fmt, ap);
    va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
    va_list ap;

    if (level < LOG_TRACE)
        return;
    va_start(ap, fmt);
    emit(STDOUT_FILENO, LOG_PRI_DEBUG, 0, NULL, fmt, ap);
    va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    emit(STDERR_FILENO, LOG_PRI_WARNING, 1, strerror(saved), fmt, ap);
    va_end(ap);
    errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    emit(STDERR_FILENO, LOG_PRI_WARNING, 1, NULL, fmt, ap);
    va_end(ap);
    errno = saved;
}

void
log_notice(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    emit(STDERR_FILENO, LOG_PRI_NOTICE, 1, NULL, fmt, ap);
    va_end(ap);
    errno = saved;
}

void
log_err(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    emit(STDERR_FILENO, LOG_PRI_ERR, 1, NULL, fmt, ap);
    va_end(ap);
    errno = saved;
}

int
log_usage_error(const char *usage_text, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(STDERR_FILENO, LOG_PRI_ERR, 1, NULL, fmt, ap);
    va_end(ap);
    log_flush();
    (void)io_write_all(STDERR_FILENO, usage_text, strlen(usage_text));
    return 2;
}

void
log_data(const void *buf, size_t len)
{
    if (len == 0)
        return;
    log_flush();
    (void)io_write_all(STDOUT_FILENO, buf, len);
    data_mid_line = ((const char *)buf)[len - 1] != '\n';
}

void
log_data_fresh_line(void)
{
    if (data_mid_line)
        log_data("\n", 1);
}

size_t
log_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
    size_t o = 0, i;

    if (dstlen == 0)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        char tmp[5];
        size_t n;

        if (ch == '\\')
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
        else if (ch == '\n')
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
        else if (ch == '\r')
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\r");
        else if (ch == '\t')
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
        else if (ch < 0x20 || ch >= 0x7f)
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\%03o", ch);
        else {
            tmp[0] = (char)ch;
            n = 1;
        }
        if (o + n >= dstlen)
            break;
        memcpy(dst + o, tmp, n);
        o += n;
    }
    dst[o] = '\0';
    return o;
}

int
log_limit_allow(struct log_limit *lim, uint64_t now_ms, uint64_t interval_ms)
{
    if (lim->last_ms != 0 && now_ms - lim->last_ms < interval_ms) {
        lim->suppressed++;
        return 0;
    }
    lim->last_ms = now_ms ? now_ms : 1;
    return 1;
}
