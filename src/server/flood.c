/* flood.c -- the token bucket of flood control (flood.h). */
#include "server/flood.h"

/* The credit f holds at now_ms: what it had plus what the time since
 * brought, up to a full bucket.  A clock that went back brings nothing. */
static uint64_t
credit_at(const struct flood *f, uint64_t now_ms)
{
    uint64_t full = (uint64_t)f->burst * FLOOD_TOKEN;
    uint64_t ms = now_ms > f->last_ms ? now_ms - f->last_ms : 0;

    /* Past a full bucket's worth of time the answer is full anyway; the
     * test keeps ms * rate from overflowing after a long silence. */
    if (ms >= (full - f->credit) / f->rate + 1)
        return full;
    return f->credit + ms * f->rate;
}

void
flood_init(struct flood *f, unsigned burst, unsigned rate, uint64_t now_ms)
{
    f->burst = burst;
    f->rate = rate;
    f->credit = (uint64_t)burst * FLOOD_TOKEN;
    f->last_ms = now_ms;
}

bool
flood_is_on(const struct flood *f)
{
    return f->burst > 0 && f->rate > 0;
}

bool
flood_take(struct flood *f, uint64_t now_ms)
{
    if (!flood_is_on(f))
        return true;
    f->credit = credit_at(f, now_ms);
    if (now_ms > f->last_ms)
        f->last_ms = now_ms;
    if (f->credit < FLOOD_TOKEN)
        return false;
    f->credit -= FLOOD_TOKEN;
    return true;
}

uint64_t
flood_wait(const struct flood *f, uint64_t now_ms)
{
    uint64_t credit;

    if (!flood_is_on(f))
        return 0;
    credit = credit_at(f, now_ms);
    if (credit >= FLOOD_TOKEN)
        return 0;
    return (FLOOD_TOKEN - credit + f->rate - 1) / f->rate;
}
