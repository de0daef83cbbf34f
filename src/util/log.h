/* log.h -- console output: one whole line per event, never torn.
 *
 * Events go to stdout, warnings to stderr.  Lines are built whole in a
 * buffer and written with one write(2), so a reader on a pipe sees each line
 * as it happens and two lines never interleave.  Client bytes shown in a
 * diagnostic are escaped (log_escape); data a profile passes through (sink,
 * echo) is written byte-exact with log_data().
 *
 * Every line has a priority, syslog's numbers as sd-daemon(3) uses them.
 * When a stream is the journal (systemd says so in JOURNAL_STREAM), each
 * of its lines starts "<N>" and leaves out the program name journald
 * records anyway; on a console the lines stay as the exercises expect
 * them, and log_set_words() adds "warning: " to warnings. */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum log_level { LOG_QUIET, LOG_EVENTS, LOG_TRACE };

/* Priorities (syslog's; not its names, which <syslog.h> takes). */
enum log_pri {
    LOG_PRI_ERR = 3,        /* the server cannot go on: main's last words */
    LOG_PRI_WARNING = 4,    /* log_warn, log_warnx */
    LOG_PRI_NOTICE = 5,     /* log_notice: the server about itself */
    LOG_PRI_INFO = 6,       /* log_event, log_line */
    LOG_PRI_DEBUG = 7,      /* log_debug */
};

/* Set the console level: LOG_QUIET shows warnings only, LOG_TRACE adds
 * log_debug() lines.  The default is LOG_EVENTS. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Name printed before warnings ("chatd: ..."); borrowed, must outlive use. */
void log_set_program(const char *name);

/* Look at JOURNAL_STREAM: stdout and stderr each become journal streams
 * ("<N>" prefixes) if its "DEV:INO" is theirs.  Call once, early. */
void log_detect_journal(void);
/* Console warnings start "prog: warning: " (on) or "prog: " (off, the
 * default: the exercises' stderr stays as they expect it). */
void log_set_words(int on);

/* Parse JOURNAL_STREAM's "DEV:INO" (decimal).  Returns 0, or -1 if text is
 * NULL or malformed.  Pure. */
int log_journal_parse(const char *text, unsigned long long *dev,
                      unsigned long long *ino);
/* Write into buf (size len, NUL-terminated) how a line of priority pri
 * begins: "<N>" on a journal stream; else "prog: " for a line that names
 * its program (program not NULL), "prog: warning: " for a warning when
 * words is set; "" for an event.  Returns the length written.  Pure. */
size_t log_format_prefix(char *buf, size_t len, enum log_pri pri,
                         const char *program, int journal, int words);

/* One stdout line (a newline is added), written at once. */
void log_event(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* One stdout line regardless of the level (traces a profile promises). */
void log_line(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Only under LOG_TRACE. */
void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* One stderr line "prog: text: strerror(errno)"; errno is preserved. */
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* One stderr line "prog: text", no errno. */
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* One stderr line "prog: text" that is no problem: what the server says
 * about itself (listening, reloaded). */
void log_notice(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* One stderr line "prog: text": why the program stops. */
void log_err(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* A usage error: "prog: reason" then usage_text on stderr.  Returns 2, the
 * exit code of a usage error in every chatd binary. */
int log_usage_error(const char *usage_text, const char *fmt, ...)
    PRINTF_LIKE(2, 3);
/* Raw bytes to stdout, unchanged (sink and echo profiles). */
void log_data(const void *buf, size_t len);
/* End the data line log_data() left open, if any. */
void log_data_fresh_line(void);

/* Buffered mode (servers): stdout lines are kept whole in a buffer until
 * log_flush(), which the event loop calls once per pass, before it sleeps.
 * Warnings and log_data() flush first, so the console order holds. */
void log_set_buffered(int on);
void log_flush(void);

/* How many console lines (events and warnings) have been written so far;
 * the sink profile uses it to start data on a fresh line after one. */
uint64_t log_lines(void);

/* Escape len bytes of src into dst (size dstlen, always NUL-terminated):
 * printable ASCII stays, \n \r \t \\ become two-character escapes and any
 * other byte becomes \ooo.  Returns the length written. */
size_t log_escape(char *dst, size_t dstlen, const char *src, size_t len);

/* A rate limit for repeated warnings: at most one line per interval. */
struct log_limit {
    uint64_t last_ms;       /* when the last line was written */
    uint64_t suppressed;    /* events not shown since then */
};

/* True if a line may be written now (at most one per interval_ms); counts
 * the event as suppressed otherwise.  now_ms is a monotonic clock. */
int log_limit_allow(struct log_limit *lim, uint64_t now_ms,
                    uint64_t interval_ms);

#endif
