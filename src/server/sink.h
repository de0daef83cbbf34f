/* sink.h -- the sink console's one decision: what goes before some data.
 *
 * The sink and echo profiles write what clients send to stdout unchanged,
 * but each time the source changes the output starts on a fresh line whose
 * first line is "ADDR:PORT: ".  The first data ever written, and the first
 * data after any other console line (a connection line, a warning), count
 * as a change.  sink_lead() decides that from plain values -- no I/O, no
 * globals -- so it is unit-tested on its own.  Starting the fresh line is
 * the console's job (log_data_fresh_line()): only it knows whether stdout
 * was left mid-line, since a warning goes to stderr and ends no stdout
 * line while an event line on stdout does. */
#ifndef CHATD_SINK_H
#define CHATD_SINK_H

#include <stddef.h>
#include <stdint.h>

/* Where the sink console stood after the last data it wrote. */
struct sink {
    uint64_t src;       /* its source id; 0: no data written yet */
    uint64_t lines;     /* the console's line count then */
};

/* Initialise st: nothing written yet. */
void sink_init(struct sink *st);

/* len bytes of data from source src (an id, never 0) named name
 * ("127.0.0.1:5555") are about to be written; the console has written
 * `lines` whole lines (events and warnings) so far.  Puts the lead to
 * write before the data into out (at most outlen - 1 bytes, NUL-terminated;
 * a name too long is cut) and returns its length: 0 while the same source
 * goes on with no console line in between; otherwise "NAME: ", and then
 * the lead must start on a fresh line.  Updates st as though the data was
 * written.  With len 0 there is nothing to write: returns 0, st is
 * unchanged. */
size_t sink_lead(struct sink *st, uint64_t src, const char *name,
                 uint64_t lines, size_t len, char *out, size_t outlen);

#endif
