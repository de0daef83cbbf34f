/* flood.h -- flood control: a token bucket per connection, as arithmetic.
 *
 * Each complete line a client sends costs one token; the bucket holds at
 * most `burst` tokens and gains `rate` tokens a second, so a client may
 * send `burst` lines at once and `rate` a second after that.  When the
 * bucket is empty the caller stops reading the client until flood_wait()
 * says a token is back: the client is read more slowly, nothing is
 * dropped.  Credit is counted in thousandths of a token times ms/s, i.e.
 * one token is 1000 units and a millisecond brings `rate` units, so every
 * rate is exact in integers.  No I/O, no clock of its own: the caller
 * passes the time (the loop's ms clock). */
#ifndef CHATD_FLOOD_H
#define CHATD_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#define FLOOD_TOKEN 1000u       /* credit units per token */

struct flood {
    uint64_t credit;    /* units, at most burst * FLOOD_TOKEN */
    uint64_t last_ms;   /* when credit was last brought up to date */
    unsigned burst;     /* tokens the bucket holds; 0: flood control off */
    unsigned rate;      /* tokens gained per second; 0: off */
};

/* A full bucket of burst tokens gaining rate a second, as of now_ms.
 * Either of them 0 turns flood control off for f. */
void flood_init(struct flood *f, unsigned burst, unsigned rate,
                uint64_t now_ms);
/* True unless flood control is off for f. */
bool flood_is_on(const struct flood *f);
/* Take one token at now_ms.  Returns true if there was one (always, when
 * flood control is off), false if the bucket is empty: nothing taken. */
bool flood_take(struct flood *f, uint64_t now_ms);
/* Milliseconds from now_ms until a token is there to take: 0 if one is
 * now (or flood control is off), at most ceil(1000 / rate). */
uint64_t flood_wait(const struct flood *f, uint64_t now_ms);

#endif
