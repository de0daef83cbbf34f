/* console.c -- the console wordings the profiles promise. */
#include "server/console.h"

#include "server/conn.h"
#include "server/server.h"
#include "util/log.h"

static void
events_accepted(const struct conn *c, size_t online)
{
    log_event("accepted connection from %s (fd %d, %zu online)", c->peer,
              c->fd, online);
}

static void
events_closed(const struct conn *c, const char *why)
{
    if (c->name != NULL)
        log_event("connection terminated: %s (%s, %s)", c->peer, c->name,
                  why);
    else
        log_event("connection terminated: %s (%s)", c->peer, why);
}

static void
lab_accepted(const struct conn *c, size_t online)
{
    (void)online;
    log_event("New connection from %s", c->peer);
}

static void
lab_closed(const struct conn *c, const char *why)
{
    log_event("Connection closed: %s (%s)", c->peer, why);
}

static void
serial_closed(const struct conn *c, const char *why)
{
    /* The next client's "New connection" line says enough. */
    log_debug("Connection closed: %s (%s)", c->peer, why);
}

static void
select_accepted(const struct conn *c, size_t online)
{
    (void)online;
    log_line("New incoming connection on sd %d", c->fd);
}

static void
select_closed(const struct conn *c, const char *why)
{
    (void)why;
    log_line("removing connection with sd %d ", c->fd);
}

static void
select_readable(const struct conn *c)
{
    log_line("Descriptor %d is readable", c->fd);
}

static void
select_received(const struct conn *c, size_t n)
{
    if (n > 0)
        log_line("%d bytes received from sd %d", (int)n, c->fd);
    else
        log_line("Connection closed for sd %d", c->fd);
}

static void
quiet_readable(const struct conn *c)
{
    (void)c;
}

static void
quiet_received(const struct conn *c, size_t n)
{
    (void)c;
    (void)n;
}

static void
quiet_message(const struct conn *c, const char *data, size_t len)
{
    (void)c;
    (void)data;
    (void)len;
}

/* "who: text", escaped, at the given level. */
static void
message_line(const struct conn *c, const char *data, size_t len,
             enum log_level level)
{
    char text[4 * 1024 + 1];

    if (log_get_level() < level)
        return;
    log_escape(text, sizeof(text), data, len);
    log_event("%s: %s", c->name != NULL ? c->name : c->peer, text);
}

static void
events_message(const struct conn *c, const char *data, size_t len)
{
    message_line(c, data, len, LOG_EVENTS);
}

/* The lab profiles' console shows who comes and goes, not what they say
 * (relay forwards raw chunks, possibly binary). */
static void
lab_message(const struct conn *c, const char *data, size_t len)
{
    message_line(c, data, len, LOG_TRACE);
}

/* The sink console: data byte-exact, each change of source starting on a
 * fresh line with "ADDR:PORT: " (so does the first data after any other
 * console line). */
static void
sink_message(const struct conn *c, const char *data, size_t len)
{
    char lead[CONN_PEER_LEN + 3];
    size_t n = sink_lead(&c->door->srv->sink, c->id, c->peer, log_lines(),
                         len, lead, sizeof(lead));

    if (n > 0) {
        log_data_fresh_line();
        log_data(lead, n);
    }
    log_data(data, len);
}

/* One connection at a time needs no lead: each one's data follows its own
 * "New connection from" line. */
static void
serial_message(const struct conn *c, const char *data, size_t len)
{
    (void)c;
    log_data(data, len);
}

void
console_choose(struct console *out, enum console_style style, int sink_data)
{
    out->accepted = events_accepted;
    out->closed = events_closed;
    out->readable = quiet_readable;
    out->received = quiet_received;
    out->message = events_message;
    switch (style) {
    case CONSOLE_EVENTS:
        break;
    case CONSOLE_HUB:
        out->message = quiet_message;
        break;
    case CONSOLE_LAB:
        out->accepted = lab_accepted;
        out->closed = lab_closed;
        out->message = lab_message;
        break;
    case CONSOLE_SERIAL:
        out->accepted = lab_accepted;
        out->closed = serial_closed;
        out->message = lab_message;
        break;
    case CONSOLE_SELECT:
        out->accepted = select_accepted;
        out->closed = select_closed;
        out->readable = select_readable;
        out->received = select_received;
        break;
    }
    if (sink_data)
        out->message = style == CONSOLE_SERIAL ? serial_message
                                               : sink_message;
}
