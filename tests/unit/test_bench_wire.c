/* test_bench_wire.c -- chatbench's wire protocols and payload
 * (src/bench/wire.c): chatd lines, the chat profile's line door, Redis
 * RESP2 pub/sub, NATS, IRC, and the client side of the line door over
 * WebSocket.
 *
 * Every input sits against a guard page (guard.h), so a parser that reads
 * one byte past its input crashes the test.  Besides the cases, a stream
 * of mixed frames is fed in reads of every size, the way the engine feeds
 * it, and must give the same frames as parsing it whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "bench/wire.h"

#define MAX 4096

/* wire_next over data[0..len) placed against a guard page. */
static enum wire_status
next(enum wire_kind k, const char *data, size_t len, struct wire_frame *f,
     size_t *used)
{
    const char *why = NULL;
    enum wire_status st;

    st = wire_next(k, t_guarded(data, len), len, MAX, f, used, &why);
    if (st == WIRE_BAD)
        assert_non_null(why);
    return st;
}

/* Every strict prefix of s needs more; s itself gives one frame of kind
 * ev using all of it. */
static void
assert_whole(enum wire_kind k, const char *s, enum wire_event ev)
{
    struct wire_frame f;
    size_t len = strlen(s), i, used = 0;

    for (i = 0; i < len; i++)
        assert_int_equal(next(k, s, i, &f, &used), WIRE_NEED_MORE);
    assert_int_equal(next(k, s, len, &f, &used), WIRE_OK);
    assert_int_equal(used, len);
    assert_int_equal(f.ev, ev);
}

static void
assert_bad(enum wire_kind k, const char *s)
{
    struct wire_frame f;
    size_t used;

    assert_int_equal(next(k, s, strlen(s), &f, &used), WIRE_BAD);
}

static void
test_payload_round_trip(void **state)
{
    static const size_t sizes[] = { WIRE_PAYLOAD_MIN, 36, 64, 1024, 65536 };
    static char buf[65536];
    uint64_t seq, ts;
    uint32_t pub;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(wire_payload_encode(buf, sizes[i], 0xbeef,
                                             0x123456789abcull,
                                             0xfedcba9876543210ull), 0);
        assert_null(memchr(buf, '\n', sizes[i]));
        assert_null(memchr(buf, '\r', sizes[i]));
        assert_null(memchr(buf, '\0', sizes[i]));
        assert_int_equal(wire_payload_decode(t_guarded(buf, sizes[i]),
                                             sizes[i], &pub, &seq, &ts), 0);
        assert_int_equal(pub, 0xbeef);
        assert_int_equal(seq, 0x123456789abcull);
        assert_int_equal(ts, 0xfedcba9876543210ull);
    }
}

static void
test_payload_every_digit(void **state)
{
    static const uint64_t seqs[] = { 0, 1, 0x123456789abcull, 0xfedcba987654ull,
                                     0xffffffffffffull, 0x0f0f0f0f0f0full };
    char buf[64];
    uint64_t seq, ts, s = 1;
    uint32_t pub;
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        for (k = 0; k < 200; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            wire_payload_encode(buf, sizeof(buf), (uint32_t)(s >> 48),
                                seqs[i], s);
            assert_int_equal(wire_payload_decode(buf, sizeof(buf), &pub,
                                                 &seq, &ts), 0);
            assert_int_equal(pub, (uint32_t)(s >> 48));
            assert_int_equal(seq, seqs[i]);
            assert_int_equal(ts, s);
        }
    }
}

static void
test_payload_limits(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(wire_payload_encode(buf, WIRE_PAYLOAD_MIN - 1, 1, 1,
                                         1), -1);
    assert_int_equal(wire_payload_encode(buf, sizeof(buf),
                                         WIRE_PUB_MAX + 1, 1, 1), -1);
    assert_int_equal(wire_payload_encode(buf, sizeof(buf), WIRE_PUB_MAX,
                                         1, 1), 0);
}

static void
test_payload_found_after_prefix(void **state)
{
    char pl[64], line[128];
    uint64_t seq, ts;
    uint32_t pub;
    int n;

    (void)state;
    wire_payload_encode(pl, sizeof(pl), 7, 42, 1000);
    /* chatd --prefix addr, and a decoy marker before the real one. */
    n = snprintf(line, sizeof(line), "127.0.0.1: @CBxyz %.*s",
                 (int)sizeof(pl), pl);
    assert_int_equal(wire_payload_decode(t_guarded(line, (size_t)n),
                                         (size_t)n, &pub, &seq, &ts), 0);
    assert_int_equal(pub, 7);
    assert_int_equal(seq, 42);
    assert_int_equal(ts, 1000);
    /* Cut one byte short: the payload is not all there. */
    assert_int_equal(wire_payload_decode(t_guarded(line, (size_t)n - 30),
                                         (size_t)n - 30, &pub, &seq, &ts),
                     -1);
}

static void
test_payload_not_found(void **state)
{
    static const char *const no[] = {
        "Welcome to chatd, 127.0.0.1:5555",
        "",
        "@CB",
        "@CB0001000000000001000000000000000",          /* one digit short */
        "@CB00g1000000000001000000000000000a",         /* not hex */
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@C",
        "@CB0001000000000001000000000000000A",         /* upper case */
        "@CB0001000000000001000000000000000/",         /* '0' - 1 */
        "@CB0001000000000001000000000000000:",         /* '9' + 1 */
        "@CB0001000000000001000000000000000`",         /* 'a' - 1 */
        "@CB0001000000000001000000000000000g",         /* 'f' + 1 */
        "@CB0001000000000001000000000000000\xb0",      /* high bit */
    };
    uint64_t seq, ts;
    uint32_t pub;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_int_equal(wire_payload_decode(t_guarded(no[i], strlen(no[i])),
                                             strlen(no[i]), &pub, &seq, &ts),
                         -1);
}

static void
test_line(void **state)
{
    struct wire_frame f;
    char big[MAX + 10];
    size_t used;

    (void)state;
    assert_whole(WIRE_LINE, "hello\n", WIRE_EV_MSG);
    assert_int_equal(next(WIRE_LINE, "hello\nworld\n", 12, &f, &used),
                     WIRE_OK);
    assert_int_equal(used, 6);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.data, "hello", 5);
    assert_int_equal(next(WIRE_LINE, "\n", 1, &f, &used), WIRE_OK);
    assert_int_equal(f.len, 0);
    /* Longer than max without a LF: a piece of max bytes. */
    memset(big, 'a', sizeof(big));
    assert_int_equal(next(WIRE_LINE, big, MAX, &f, &used), WIRE_NEED_MORE);
    assert_int_equal(next(WIRE_LINE, big, MAX + 1, &f, &used), WIRE_OK);
    assert_int_equal(f.len, MAX);
    assert_int_equal(used, MAX);
}

static void
test_encode_line(void **state)
{
    char out[16];

    (void)state;
    assert_int_equal(wire_encode_pub(WIRE_LINE, out, sizeof(out), "c",
                                     "abc", 3, NULL), 4);
    assert_memory_equal(out, "abc\n", 4);
    assert_int_equal(wire_pub_len(WIRE_LINE, "c", 3), 4);
    assert_int_equal(wire_encode_pub(WIRE_LINE, out, 3, "c", "abc", 3, NULL),
                     0);
    assert_int_equal(wire_encode_sub(WIRE_LINE, out, sizeof(out), "c", 7,
                                     NULL),
                     0);
    assert_int_equal(wire_encode_hello(WIRE_LINE, out, sizeof(out)), 0);
}

/* One chat line: its event, and the text it is narrowed to. */
static void
assert_chat(const char *line, enum wire_event ev, const char *text)
{
    struct wire_frame f;
    size_t len = strlen(line), used;

    assert_int_equal(next(WIRE_CHAT, line, len, &f, &used), WIRE_OK);
    assert_int_equal(used, len);
    assert_int_equal(f.ev, ev);
    assert_int_equal(f.len, strlen(text));
    assert_memory_equal(f.data, text, f.len);
}

static void
test_chat_lines(void **state)
{
    (void)state;
    assert_whole(WIRE_CHAT, "b1: hi\n", WIRE_EV_MSG);
    assert_chat("b1: hi\n", WIRE_EV_MSG, "hi");
    assert_chat("[#bench] b1: hi\n", WIRE_EV_MSG, "hi");
    /* The nick ends at the first ": "; the text may hold more. */
    assert_chat("b1: a: b\n", WIRE_EV_MSG, "a: b");
    assert_chat("[#a] b] b1: x\n", WIRE_EV_MSG, "x");
    assert_chat("b1: \n", WIRE_EV_MSG, "");
    assert_chat("*** guest7 joined #lobby\n", WIRE_EV_NOTICE,
                "guest7 joined #lobby");
    assert_chat("*** error: nickname taken\n", WIRE_EV_ERROR,
                "error: nickname taken");
    assert_chat("*** b1: looks like a message\n", WIRE_EV_NOTICE,
                "b1: looks like a message");
    assert_chat("* b1 waves: hello\n", WIRE_EV_OTHER, "* b1 waves: hello");
    assert_chat("Welcome to chatd, guest7 -- /help\n", WIRE_EV_OTHER,
                "Welcome to chatd, guest7 -- /help");
    assert_chat("[#bench b1: no closing bracket\n", WIRE_EV_OTHER,
                "[#bench b1: no closing bracket");
    assert_chat("b1:no space\n", WIRE_EV_OTHER, "b1:no space");
    assert_chat("***\n", WIRE_EV_OTHER, "***");
    assert_chat("\n", WIRE_EV_OTHER, "");
}

/* A delivery: the payload comes out as the line protocol's would. */
static void
test_chat_payload_after_prefixes(void **state)
{
    struct wire_frame f;
    char pl[64], line[128];
    uint64_t seq, ts;
    uint32_t pub;
    size_t used, n;

    (void)state;
    wire_payload_encode(pl, 40, 3, 99, 12345);
    n = (size_t)snprintf(line, sizeof(line), "[#bench] b17: %.40s\n", pl);
    assert_int_equal(next(WIRE_CHAT, line, n, &f, &used), WIRE_OK);
    assert_int_equal(f.ev, WIRE_EV_MSG);
    assert_int_equal(f.len, 40);
    assert_memory_equal(f.data, pl, 40);
    assert_int_equal(wire_payload_decode(f.data, f.len, &pub, &seq, &ts), 0);
    assert_int_equal(pub, 3);
    assert_int_equal(seq, 99);
    assert_int_equal(ts, 12345);
}

static void
test_chat_joined(void **state)
{
    static const struct {
        const char *text;       /* a notice, after its "*** " */
        uint32_t    client;
        const char *room;
        int         want;
    } cases[] = {
        { "b12 joined #bench", 12, "#bench", 1 },
        { "b12 joined #bench", 12, "#BENCH", 1 },
        { "B12 joined #Bench (3 users)", 12, "#bench", 1 },
        { "b12 joined #bench2", 12, "#bench", 0 },
        { "b12 joined #bench", 1, "#bench", 0 },
        { "b12 joined #bench", 120, "#bench", 0 },
        { "b12 joined #bench", 12, "#lobby", 0 },
        { "b12 joined #benc", 12, "#bench", 0 },
        { "guest7 joined #bench", 7, "#bench", 0 },
        { "b12 left #bench", 12, "#bench", 0 },
        { "b12 is now known as b13", 12, "#bench", 0 },
        { "b12", 12, "#bench", 0 },
        { "", 0, "#bench", 0 },
    };
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = strlen(cases[i].text);
        assert_int_equal(wire_chat_is_joined(t_guarded(cases[i].text, n), n,
                                             cases[i].client, cases[i].room),
                         cases[i].want);
    }
}

static void
test_encode_chat(void **state)
{
    static const char want[] = "/nick b42\n/join #bench\n";
    char out[64];
    size_t n;

    (void)state;
    n = wire_encode_sub(WIRE_CHAT, out, sizeof(out), "#bench", 42, NULL);
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
    assert_int_equal(wire_encode_sub(WIRE_CHAT, out, n - 1, "#bench", 42,
                                     NULL),
                     0);
    assert_int_equal(wire_encode_pub(WIRE_CHAT, out, sizeof(out), "#bench",
                                     "abc", 3, NULL), 4);
    assert_memory_equal(out, "abc\n", 4);
    assert_int_equal(wire_pub_len(WIRE_CHAT, "#bench", 3), 4);
    assert_int_equal(wire_encode_hello(WIRE_CHAT, out, sizeof(out)), 0);
}

/* One IRC line: its event, and the text it is narrowed to. */
static void
assert_irc(const char *line, enum wire_event ev, const char *text)
{
    struct wire_frame f;
    size_t len = strlen(line), used;

    assert_int_equal(next(WIRE_IRC, line, len, &f, &used), WIRE_OK);
    assert_int_equal(used, len);
    assert_int_equal(f.ev, ev);
    assert_int_equal(f.len, strlen(text));
    assert_memory_equal(f.data, text, f.len);
}

static void
test_irc_lines(void **state)
{
    (void)state;
    assert_whole(WIRE_IRC, ":b!u@h PRIVMSG #bench :hi\r\n", WIRE_EV_MSG);
    assert_irc(":bench3!bench3@127.0.0.1 PRIVMSG #bench :hello there\r\n",
               WIRE_EV_MSG, "hello there");
    assert_irc(":bench3!~bench3@localhost PRIVMSG #bench ::x\r\n",
               WIRE_EV_MSG, ":x");
    assert_irc(":n PRIVMSG #bench word\r\n", WIRE_EV_MSG, "word");
    assert_irc(":n privmsg #bench :lower case\n", WIRE_EV_MSG, "lower case");
    assert_irc("@time=2024-01-01T00:00:00Z :n!u@h PRIVMSG #b :tagged\r\n",
               WIRE_EV_MSG, "tagged");
    assert_irc(":n PRIVMSG #bench :\r\n", WIRE_EV_MSG, "");
    assert_irc(":n PRIVMSG #bench\r\n", WIRE_EV_OTHER,
               ":n PRIVMSG #bench");
    assert_irc("PING :irc.example.net\r\n", WIRE_EV_PING, "irc.example.net");
    assert_irc("PING token\r\n", WIRE_EV_PING, "token");
    assert_irc(":srv PING :x y\r\n", WIRE_EV_PING, "x y");
    assert_irc(":irc.local 001 bench7 :Welcome to the network\r\n",
               WIRE_EV_WELCOME, ":irc.local 001 bench7 :Welcome to the "
               "network");
    assert_irc(":bench7!bench7@127.0.0.1 JOIN #bench\r\n", WIRE_EV_JOINED,
               "bench7");
    assert_irc(":bench7!~bench7@localhost JOIN :#bench\r\n", WIRE_EV_JOINED,
               "bench7");
    assert_irc(":bench7 JOIN #bench\r\n", WIRE_EV_JOINED, "bench7");
    assert_irc("JOIN #bench\r\n", WIRE_EV_JOINED, "");
    assert_irc("ERROR :Closing link: (bench7@127.0.0.1) [Excess Flood]\r\n",
               WIRE_EV_ERROR, "ERROR :Closing link: (bench7@127.0.0.1) "
               "[Excess Flood]");
    assert_irc(":srv 433 * bench7 :Nickname is already in use\r\n",
               WIRE_EV_ERROR, ":srv 433 * bench7 :Nickname is already in "
               "use");
    assert_irc(":srv 451 * :You have not registered\r\n", WIRE_EV_ERROR,
               ":srv 451 * :You have not registered");
    assert_irc(":srv 599 x\r\n", WIRE_EV_ERROR, ":srv 599 x");
    /* No MOTD is not an error; other numerics and NOTICEs are noise. */
    assert_irc(":srv 422 bench7 :MOTD File is missing\r\n", WIRE_EV_OTHER,
               ":srv 422 bench7 :MOTD File is missing");
    assert_irc(":srv 353 bench7 = #bench :bench7 bench8\r\n", WIRE_EV_OTHER,
               ":srv 353 bench7 = #bench :bench7 bench8");
    assert_irc(":srv 600 x\r\n", WIRE_EV_OTHER, ":srv 600 x");
    assert_irc(":srv 4x3 x\r\n", WIRE_EV_OTHER, ":srv 4x3 x");
    assert_irc(":srv 4333 x\r\n", WIRE_EV_OTHER, ":srv 4333 x");
    assert_irc(":srv NOTICE * :*** Looking up your hostname...\r\n",
               WIRE_EV_OTHER, ":srv NOTICE * :*** Looking up your "
               "hostname...");
    assert_irc(":bench9!u@h PART #bench\r\n", WIRE_EV_OTHER,
               ":bench9!u@h PART #bench");
    assert_irc("\r\n", WIRE_EV_OTHER, "");
    assert_irc("\n", WIRE_EV_OTHER, "");
    assert_irc(":\r\n", WIRE_EV_OTHER, ":");
    assert_irc("@\r\n", WIRE_EV_OTHER, "@");
    assert_irc(":only-a-prefix\r\n", WIRE_EV_OTHER, ":only-a-prefix");
}

/* A line over the limit comes out in pieces, as the line protocol's. */
static void
test_irc_long_line(void **state)
{
    static char big[MAX + 16];
    struct wire_frame f;
    size_t used;

    (void)state;
    memcpy(big, ":n PRIVMSG #b :", 15);
    memset(big + 15, 'a', sizeof(big) - 15);
    assert_int_equal(next(WIRE_IRC, big, MAX, &f, &used), WIRE_NEED_MORE);
    assert_int_equal(next(WIRE_IRC, big, MAX + 1, &f, &used),
                     WIRE_NEED_MORE);
    assert_int_equal(next(WIRE_IRC, big, MAX + 2, &f, &used), WIRE_OK);
    assert_int_equal(used, MAX);
    assert_int_equal(f.ev, WIRE_EV_MSG);
    assert_int_equal(f.len, MAX - 15);
    /* A line of exactly max bytes and its CRLF stays whole. */
    big[MAX] = '\r';
    big[MAX + 1] = '\n';
    assert_int_equal(next(WIRE_IRC, big, MAX + 2, &f, &used), WIRE_OK);
    assert_int_equal(used, MAX + 2);
    assert_int_equal(f.len, MAX - 15);
}

static void
test_irc_payload_and_me(void **state)
{
    struct wire_frame f;
    char pl[64], line[160];
    uint64_t seq, ts;
    uint32_t pub;
    size_t used, n;

    (void)state;
    wire_payload_encode(pl, 64, 9, 1000, 777);
    n = (size_t)snprintf(line, sizeof(line),
                         ":bench9!~bench9@localhost PRIVMSG #bench :%.64s\r\n",
                         pl);
    assert_int_equal(next(WIRE_IRC, line, n, &f, &used), WIRE_OK);
    assert_int_equal(f.ev, WIRE_EV_MSG);
    assert_int_equal(f.len, 64);
    assert_int_equal(wire_payload_decode(f.data, f.len, &pub, &seq, &ts), 0);
    assert_int_equal(pub, 9);
    assert_int_equal(seq, 1000);
    assert_int_equal(ts, 777);
    assert_true(wire_irc_is_me(t_guarded("bench12", 7), 7, 12));
    assert_true(wire_irc_is_me(t_guarded("BENCH12", 7), 7, 12));
    assert_false(wire_irc_is_me(t_guarded("bench12", 7), 7, 1));
    assert_false(wire_irc_is_me(t_guarded("bench1", 6), 6, 12));
    assert_false(wire_irc_is_me(t_guarded("bench120", 8), 8, 12));
    assert_false(wire_irc_is_me(t_guarded("b12", 3), 3, 12));
    assert_false(wire_irc_is_me(t_guarded("", 0), 0, 12));
}

static void
test_encode_irc(void **state)
{
    static const char sub[] = "NICK bench42\r\nUSER bench42 0 * :bench\r\n";
    char out[128];
    size_t n;

    (void)state;
    n = wire_encode_sub(WIRE_IRC, out, sizeof(out), "#bench", 42, NULL);
    assert_int_equal(n, sizeof(sub) - 1);
    assert_memory_equal(out, sub, n);
    assert_int_equal(wire_encode_sub(WIRE_IRC, out, n - 1, "#bench", 42,
                                     NULL), 0);
    n = wire_encode_join(WIRE_IRC, out, sizeof(out), "#bench");
    assert_int_equal(n, 13);
    assert_memory_equal(out, "JOIN #bench\r\n", 13);
    assert_int_equal(wire_encode_join(WIRE_IRC, out, 12, "#bench"), 0);
    assert_int_equal(wire_encode_join(WIRE_CHAT, out, sizeof(out), "#b"), 0);
    n = wire_encode_pub(WIRE_IRC, out, sizeof(out), "#bench", "abc", 3, NULL);
    assert_int_equal(n, 21);
    assert_memory_equal(out, "PRIVMSG #bench :abc\r\n", 21);
    assert_int_equal(wire_pub_len(WIRE_IRC, "#bench", 3), n);
    assert_int_equal(wire_pub_len(WIRE_IRC, "#bench", 300), 318);
    assert_int_equal(wire_encode_pub(WIRE_IRC, out, n - 1, "#bench", "abc",
                                     3, NULL), 0);
    n = wire_encode_pong(WIRE_IRC, out, sizeof(out), "irc.local", 9, NULL);
    assert_int_equal(n, 17);
    assert_memory_equal(out, "PONG :irc.local\r\n", 17);
    assert_int_equal(wire_encode_pong(WIRE_IRC, out, 16, "irc.local", 9,
                                      NULL), 0);
    assert_int_equal(wire_encode_pong(WIRE_LINE, out, sizeof(out), "", 0,
                                      NULL), 0);
    assert_int_equal(wire_encode_hello(WIRE_IRC, out, sizeof(out)), 0);
    n = wire_encode_oper(out, sizeof(out), "op:pw:x", 5);
    assert_int_equal(n, 30);
    assert_memory_equal(out, "OPER op pw:x\r\nMODE bench5 +F\r\n", 30);
    assert_int_equal(wire_encode_oper(out, 29, "op:pw:x", 5), 0);
    assert_int_equal(wire_encode_oper(out, sizeof(out), "oppw", 5), 0);
    assert_false(wire_echoes_own(WIRE_IRC));
    assert_true(wire_echoes_own(WIRE_CHAT));
    assert_true(wire_echoes_own(WIRE_NATS));
}

static void
test_encode_redis(void **state)
{
    static const char want[] =
        "*3\r\n$7\r\nPUBLISH\r\n$4\r\nchan\r\n$12\r\nhello world!\r\n";
    char out[128];
    size_t n;

    (void)state;
    n = wire_encode_pub(WIRE_REDIS, out, sizeof(out), "chan",
                        "hello world!", 12, NULL);
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
    assert_int_equal(wire_pub_len(WIRE_REDIS, "chan", 12), n);
    assert_int_equal(wire_encode_pub(WIRE_REDIS, out, n - 1, "chan",
                                     "hello world!", 12, NULL), 0);
    n = wire_encode_sub(WIRE_REDIS, out, sizeof(out), "chatbench", 7, NULL);
    assert_int_equal(n, strlen("*2\r\n$9\r\nSUBSCRIBE\r\n$9\r\nchatbench\r\n"));
    assert_memory_equal(out, "*2\r\n$9\r\nSUBSCRIBE\r\n$9\r\nchatbench\r\n", n);
    n = wire_encode_hello(WIRE_REDIS, out, sizeof(out));
    assert_int_equal(n, 14);
    assert_memory_equal(out, "*1\r\n$4\r\nPING\r\n", n);
}

static void
test_encode_nats(void **state)
{
    char out[256];
    size_t n;

    (void)state;
    n = wire_encode_pub(WIRE_NATS, out, sizeof(out), "subj", "abc", 3, NULL);
    assert_int_equal(n, strlen("PUB subj 3\r\nabc\r\n"));
    assert_memory_equal(out, "PUB subj 3\r\nabc\r\n", n);
    assert_int_equal(wire_pub_len(WIRE_NATS, "subj", 3), n);
    assert_int_equal(wire_pub_len(WIRE_NATS, "subj", 1234),
                     strlen("PUB subj 1234\r\n\r\n") + 1234);
    n = wire_encode_sub(WIRE_NATS, out, sizeof(out) - 1, "subj", 7, NULL);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "CONNECT {\"verbose\":false,"
                                "\"pedantic\":false"));
    assert_non_null(strstr(out, "}\r\nSUB subj 1\r\nPING\r\n"));
    assert_int_equal(wire_encode_sub(WIRE_NATS, out, 20, "subj", 7, NULL), 0);
    n = wire_encode_pong(WIRE_NATS, out, sizeof(out), "", 0, NULL);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "PONG\r\n", 6);
}

static void
test_redis_replies(void **state)
{
    struct wire_frame f;
    size_t used;
    static const char msg[] = "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhe\r\no\r\n";

    (void)state;
    assert_whole(WIRE_REDIS, "*3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:1\r\n",
                 WIRE_EV_JOINED);
    assert_whole(WIRE_REDIS, msg, WIRE_EV_MSG);
    assert_int_equal(next(WIRE_REDIS, msg, sizeof(msg) - 1, &f, &used),
                     WIRE_OK);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.data, "he\r\no", 5);      /* binary safe */
    assert_whole(WIRE_REDIS,
                 "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$4\r\nchan\r\n$2\r\nhi\r\n",
                 WIRE_EV_MSG);
    assert_whole(WIRE_REDIS, ":12\r\n", WIRE_EV_OTHER);
    assert_whole(WIRE_REDIS, "+OK\r\n", WIRE_EV_OTHER);
    assert_whole(WIRE_REDIS, "+PONG\r\n", WIRE_EV_JOINED);
    assert_whole(WIRE_REDIS, "$-1\r\n", WIRE_EV_OTHER);
    assert_whole(WIRE_REDIS, "*2\r\n*1\r\n:1\r\n$0\r\n\r\n", WIRE_EV_OTHER);
    assert_whole(WIRE_REDIS, "-ERR max number of clients reached\r\n",
                 WIRE_EV_ERROR);
    assert_int_equal(next(WIRE_REDIS, "-ERR x\r\n", 8, &f, &used), WIRE_OK);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.data, "ERR x", 5);
}

static void
test_redis_bad(void **state)
{
    char big[64];

    (void)state;
    assert_bad(WIRE_REDIS, "hello\r\n");
    assert_bad(WIRE_REDIS, "$abc\r\n");
    assert_bad(WIRE_REDIS, "$-2\r\n");
    assert_bad(WIRE_REDIS, "$3\r\nabcd\r\n");
    assert_bad(WIRE_REDIS, "*x\r\n");
    assert_bad(WIRE_REDIS, "+no cr\n");
    assert_bad(WIRE_REDIS, "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n");  /* deep */
    assert_bad(WIRE_REDIS, "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n:5\r\n");
    snprintf(big, sizeof(big), "$%d\r\n", MAX + 1);     /* a lie: no wait */
    assert_bad(WIRE_REDIS, big);
    snprintf(big, sizeof(big), "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$%d\r\n",
             MAX + 1);
    assert_bad(WIRE_REDIS, big);
}

static void
test_nats_ops(void **state)
{
    struct wire_frame f;
    size_t used;

    (void)state;
    assert_whole(WIRE_NATS, "MSG subj 1 3\r\nabc\r\n", WIRE_EV_MSG);
    assert_int_equal(next(WIRE_NATS, "MSG subj 1 3\r\nabc\r\n", 19, &f,
                          &used), WIRE_OK);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.data, "abc", 3);
    assert_whole(WIRE_NATS, "MSG subj 1 reply.to 2\r\nhi\r\n", WIRE_EV_MSG);
    assert_whole(WIRE_NATS, "MSG subj 1 0\r\n\r\n", WIRE_EV_MSG);
    assert_whole(WIRE_NATS, "HMSG subj 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
                 WIRE_EV_OTHER);
    assert_whole(WIRE_NATS, "PING\r\n", WIRE_EV_PING);
    assert_whole(WIRE_NATS, "PONG\r\n", WIRE_EV_JOINED);
    assert_whole(WIRE_NATS, "+OK\r\n", WIRE_EV_OTHER);
    assert_whole(WIRE_NATS, "-ERR 'Unknown Protocol Operation'\r\n",
                 WIRE_EV_ERROR);
    assert_whole(WIRE_NATS, "INFO {\"server_id\":\"x\",\"max_payload\":"
                 "1048576}\r\n", WIRE_EV_OTHER);
}

static void
test_nats_bad(void **state)
{
    char big[64];

    (void)state;
    assert_bad(WIRE_NATS, "BOGUS\r\n");
    assert_bad(WIRE_NATS, "PING\n");
    assert_bad(WIRE_NATS, "MSG subj 1 x\r\n");
    assert_bad(WIRE_NATS, "MSG subj 1 -1\r\n");
    assert_bad(WIRE_NATS, "MSG subj 1 3\r\nabcd\r\n");
    snprintf(big, sizeof(big), "MSG subj 1 %d\r\n", MAX + 1);
    assert_bad(WIRE_NATS, big);
}

/* A server frame (unmasked) of opcode op, FIN as fin, holding
 * data[0..n), at out; the 16-bit or 64-bit length form when n asks for
 * it or when wide says so (1: 16-bit, 2: 64-bit, a longer form than
 * needed, which a reader must accept).  Returns its length. */
static size_t
srv_frame(char *out, int op, int fin, const char *data, size_t n, int wide)
{
    unsigned char *o = (unsigned char *)out;
    size_t h = 2, i;

    o[0] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (n >= 65536 || wide == 2) {
        o[1] = 127;
        for (i = 0; i < 8; i++)
            o[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        h = 10;
    } else if (n >= 126 || wide == 1) {
        o[1] = 126;
        o[2] = (unsigned char)(n >> 8);
        o[3] = (unsigned char)n;
        h = 4;
    } else {
        o[1] = (unsigned char)n;
    }
    memcpy(out + h, data, n);
    return h + n;
}

/* One server frame: every strict prefix needs more; whole, it is one
 * frame of kind ev narrowed to text. */
static void
assert_ws(const char *frame, size_t len, enum wire_event ev,
          const char *text, size_t tlen)
{
    struct wire_frame f;
    size_t i, used = 0;

    for (i = 0; i < len; i++)
        assert_int_equal(next(WIRE_WS, frame, i, &f, &used), WIRE_NEED_MORE);
    assert_int_equal(next(WIRE_WS, frame, len, &f, &used), WIRE_OK);
    assert_int_equal(used, len);
    assert_int_equal(f.ev, ev);
    assert_int_equal(f.len, tlen);
    assert_memory_equal(f.data, text, tlen);
}

static void
test_ws_frames(void **state)
{
    static char buf[70000], big[65600];
    struct wire_frame f;
    const char *why;
    char pl[64];
    size_t n, used;

    (void)state;
    /* A text frame is a chat line without its LF. */
    n = srv_frame(buf, 1, 1, "b1: hi", 6, 0);
    assert_ws(buf, n, WIRE_EV_MSG, "hi", 2);
    n = srv_frame(buf, 1, 1, "b1: hi", 6, 1);
    assert_ws(buf, n, WIRE_EV_MSG, "hi", 2);
    n = srv_frame(buf, 1, 1, "b1: hi", 6, 2);
    assert_ws(buf, n, WIRE_EV_MSG, "hi", 2);
    n = srv_frame(buf, 1, 1, "*** b3 joined #bench", 20, 0);
    assert_ws(buf, n, WIRE_EV_NOTICE, "b3 joined #bench", 16);
    n = srv_frame(buf, 1, 1, "*** error: no such room", 23, 0);
    assert_ws(buf, n, WIRE_EV_ERROR, "error: no such room", 19);
    n = srv_frame(buf, 1, 1, "Welcome to chatd, guest1! Type /help", 36, 0);
    assert_ws(buf, n, WIRE_EV_OTHER,
              "Welcome to chatd, guest1! Type /help", 36);
    n = srv_frame(buf, 1, 1, "", 0, 0);
    assert_ws(buf, n, WIRE_EV_OTHER, "", 0);
    /* A payload after a nick, in frames of every length form. */
    wire_payload_encode(pl, 40, 5, 77, 999);
    memcpy(big, "b5: ", 4);
    memcpy(big + 4, pl, 40);
    n = srv_frame(buf, 1, 1, big, 44, 0);
    assert_ws(buf, n, WIRE_EV_MSG, pl, 40);
    memset(big + 44, '.', sizeof(big) - 44);
    n = srv_frame(buf, 1, 1, big, 300, 0);
    assert_int_equal(n, 304);
    assert_ws(buf, n, WIRE_EV_MSG, big + 4, 296);
    n = srv_frame(buf, 1, 1, big, 65536, 0);
    assert_int_equal(n, 65546);
    assert_int_equal(wire_next(WIRE_WS, t_guarded(buf, n), n, 65536, &f,
                               &used, &why), WIRE_OK);
    assert_int_equal(f.len, 65532);
    /* Control frames and the others. */
    n = srv_frame(buf, 9, 1, "tok", 3, 0);
    assert_ws(buf, n, WIRE_EV_PING, "tok", 3);
    n = srv_frame(buf, 9, 1, "", 0, 0);
    assert_ws(buf, n, WIRE_EV_PING, "", 0);
    n = srv_frame(buf, 10, 1, "x", 1, 0);
    assert_ws(buf, n, WIRE_EV_OTHER, "x", 1);
    n = srv_frame(buf, 2, 1, "b1: \x01\x02", 6, 0);
    assert_ws(buf, n, WIRE_EV_OTHER, "b1: \x01\x02", 6);
    n = srv_frame(buf, 8, 1, "\x03\xe9going away", 12, 0);
    assert_ws(buf, n, WIRE_EV_CLOSE, "going away", 10);
    n = srv_frame(buf, 8, 1, "", 0, 0);
    assert_ws(buf, n, WIRE_EV_CLOSE, "", 0);
}

static void
test_ws_frames_bad(void **state)
{
    static char big[MAX + 2];
    char buf[MAX + 32], ctl[130];
    struct wire_frame f;
    size_t n, used;

    (void)state;
    memset(big, 'a', sizeof(big));
    memset(ctl, 'c', sizeof(ctl));
    /* Decided at the first byte that makes it certain. */
    assert_int_equal(next(WIRE_WS, "\xc1", 1, &f, &used), WIRE_BAD);
    assert_int_equal(next(WIRE_WS, "\x81\x82", 2, &f, &used), WIRE_BAD);
    assert_int_equal(next(WIRE_WS, "\x81\x7f\x80", 3, &f, &used), WIRE_BAD);
    assert_int_equal(next(WIRE_WS, "\x89\x7e", 2, &f, &used), WIRE_BAD);
    assert_int_equal(next(WIRE_WS, "\x09\x00", 2, &f, &used), WIRE_BAD);
    n = srv_frame(buf, 1, 0, "b1: hi", 6, 0);        /* no FIN */
    assert_int_equal(next(WIRE_WS, buf, n, &f, &used), WIRE_BAD);
    n = srv_frame(buf, 0, 1, "b1: hi", 6, 0);        /* continuation */
    assert_int_equal(next(WIRE_WS, buf, n, &f, &used), WIRE_BAD);
    n = srv_frame(buf, 3, 1, "x", 1, 0);             /* opcode 3 */
    assert_int_equal(next(WIRE_WS, buf, n, &f, &used), WIRE_BAD);
    n = srv_frame(buf, 11, 1, "x", 1, 0);            /* opcode 11 */
    assert_int_equal(next(WIRE_WS, buf, n, &f, &used), WIRE_BAD);
    n = srv_frame(buf, 8, 1, "\x03", 1, 0);          /* 1-byte close */
    assert_int_equal(next(WIRE_WS, buf, n, &f, &used), WIRE_BAD);
    n = srv_frame(buf, 9, 1, ctl, 126, 0);           /* big ping */
    assert_int_equal(next(WIRE_WS, buf, 4, &f, &used), WIRE_BAD);
    /* Over max: refused from the header alone. */
    n = srv_frame(buf, 1, 1, big, MAX + 1, 0);
    assert_int_equal(next(WIRE_WS, buf, 4, &f, &used), WIRE_BAD);
    n = srv_frame(buf, 1, 1, big, MAX, 0);
    assert_int_equal(next(WIRE_WS, buf, n, &f, &used), WIRE_OK);
    /* An HTTP answer must be one. */
    assert_int_equal(next(WIRE_WS, "Hello\r\n\r\n", 9, &f, &used), WIRE_BAD);
    assert_int_equal(next(WIRE_WS, "HTTP/1.1 10\r\n\r\n", 15, &f, &used),
                     WIRE_BAD);
}

static void
test_ws_http_answer(void **state)
{
    static const char ok[] =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "sec-websocket-ACCEPT:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n"
        "\r\n";
    static char huge[WIRE_CTL_MAX + 8];
    char buf[512];
    struct wire_frame f;
    size_t n, used;

    (void)state;
    assert_ws(ok, sizeof(ok) - 1, WIRE_EV_UPGRADED,
              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28);
    assert_ws("HTTP/1.1 101 OK\n\n", 17, WIRE_EV_UPGRADED, "", 0);
    assert_ws("HTTP/1.1 101\r\n\r\n", 16, WIRE_EV_UPGRADED, "", 0);
    assert_ws("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45,
              WIRE_EV_ERROR, "HTTP/1.1 404 Not Found", 22);
    assert_ws("HTTP/1.0 1010 x\r\n\r\n", 19, WIRE_EV_ERROR,
              "HTTP/1.0 1010 x", 15);
    /* The first frames may come in the same read: they are not the
     * head's. */
    n = (size_t)snprintf(buf, sizeof(buf), "%s", ok);
    n += srv_frame(buf + n, 1, 1, "Welcome", 7, 0);
    assert_int_equal(next(WIRE_WS, buf, n, &f, &used), WIRE_OK);
    assert_int_equal(used, sizeof(ok) - 1);
    assert_int_equal(next(WIRE_WS, buf + used, n - used, &f, &used),
                     WIRE_OK);
    assert_int_equal(f.ev, WIRE_EV_OTHER);
    /* A head that never ends. */
    memset(huge, 'x', sizeof(huge));
    memcpy(huge, "HTTP/1.1 101 ", 13);
    assert_int_equal(next(WIRE_WS, huge, WIRE_CTL_MAX - 1, &f, &used),
                     WIRE_NEED_MORE);
    assert_int_equal(next(WIRE_WS, huge, WIRE_CTL_MAX, &f, &used), WIRE_BAD);
}

/* Unmask the client frame at in[0..len): its opcode and payload (into
 * out).  Checks FIN, the mask bit and the shortest length form. */
static size_t
client_frame(const char *in, size_t len, int *op, char *out)
{
    const unsigned char *b = (const unsigned char *)in;
    size_t n = b[1] & 0x7f, h = 2, i;

    assert_true(len >= 6);
    assert_int_equal(b[0] & 0xf0, 0x80);
    assert_true(b[1] & 0x80);
    *op = b[0] & 0x0f;
    if (n == 126) {
        n = (size_t)b[2] << 8 | b[3];
        assert_true(n >= 126);
        h = 4;
    } else if (n == 127) {
        for (n = 0, i = 2; i < 10; i++)
            n = n << 8 | b[i];
        assert_true(n >= 65536);
        h = 10;
    }
    assert_true(len >= h + 4 + n);
    for (i = 0; i < n; i++)
        out[i] = (char)(b[h + 4 + i] ^ b[h + (i & 3)]);
    return h + 4 + n;
}

static void
test_encode_ws(void **state)
{
    static const size_t sizes[] = { 35, 64, 125, 126, 300, 65535, 65536,
                                    70000 };
    static char pl[70000], out[70100], back[70000];
    char a[64], b[64];
    uint64_t rng = 42;
    size_t i, n, m, k;
    int op;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        wire_payload_encode(pl, sizes[i], 1, i, 7);
        n = wire_encode_pub(WIRE_WS, out, sizeof(out), "#bench", pl,
                            sizes[i], &rng);
        assert_int_equal(n, wire_pub_len(WIRE_WS, "#bench", sizes[i]));
        assert_int_equal(client_frame(out, n, &op, back), n);
        assert_int_equal(op, 1);
        assert_memory_equal(back, pl, sizes[i]);
        assert_int_equal(wire_encode_pub(WIRE_WS, out, n - 1, "#bench", pl,
                                         sizes[i], &rng), 0);
    }
    assert_int_equal(wire_pub_len(WIRE_WS, "#bench", 64), 70);
    /* A fresh key per frame: the same text masks differently. */
    n = wire_encode_pub(WIRE_WS, a, sizeof(a), "#bench", "same", 4, &rng);
    m = wire_encode_pub(WIRE_WS, b, sizeof(b), "#bench", "same", 4, &rng);
    assert_int_equal(n, m);
    assert_true(memcmp(a, b, n) != 0);
    assert_int_equal(wire_encode_pub(WIRE_WS, a, sizeof(a), "#bench", "x",
                                     1, NULL), 0);
    /* Once upgraded: chat's two lines, a frame each. */
    n = wire_encode_sub(WIRE_WS, out, sizeof(out), "#bench", 42, &rng);
    k = client_frame(out, n, &op, back);
    assert_int_equal(op, 1);
    assert_int_equal(k, 6 + 9);
    assert_memory_equal(back, "/nick b42", 9);
    assert_int_equal(client_frame(out + k, n - k, &op, back), n - k);
    assert_int_equal(n - k, 6 + 12);
    assert_memory_equal(back, "/join #bench", 12);
    assert_int_equal(wire_encode_sub(WIRE_WS, out, n - 1, "#bench", 42,
                                     &rng), 0);
    /* A pong carries the ping's payload. */
    n = wire_encode_pong(WIRE_WS, out, sizeof(out), "tok", 3, &rng);
    assert_int_equal(client_frame(out, n, &op, back), n);
    assert_int_equal(op, 10);
    assert_int_equal(n, 6 + 3);
    assert_memory_equal(back, "tok", 3);
    assert_int_equal(wire_encode_pong(WIRE_WS, out, sizeof(out), pl, 126,
                                      &rng), 0);
    assert_int_equal(wire_encode_hello(WIRE_WS, out, sizeof(out)), 0);
    assert_int_equal(wire_encode_join(WIRE_WS, out, sizeof(out), "#b"), 0);
    assert_true(wire_echoes_own(WIRE_WS));
}

static void
test_ws_key_and_upgrade(void **state)
{
    static const char req[] =
        "GET /ws HTTP/1.1\r\n"
        "Host: 127.0.0.1:8080\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "\r\n";
    char k1[WIRE_WS_KEY_LEN + 1], k2[WIRE_WS_KEY_LEN + 1];
    char k3[WIRE_WS_KEY_LEN + 1], out[512];
    const char *acc = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    size_t n;

    (void)state;
    /* RFC 6455's own example. */
    assert_true(wire_ws_accept_is(acc, 28, "dGhlIHNhbXBsZSBub25jZQ=="));
    assert_false(wire_ws_accept_is(acc, 27, "dGhlIHNhbXBsZSBub25jZQ=="));
    assert_false(wire_ws_accept_is("", 0, "dGhlIHNhbXBsZSBub25jZQ=="));
    assert_false(wire_ws_accept_is(acc, 28, "dGhlIHNhbXBsZSBub25jZA=="));
    /* Keys: valid, and different per client and per seed. */
    wire_ws_key(k1, 1, 7);
    wire_ws_key(k2, 1, 8);
    wire_ws_key(k3, 2, 7);
    assert_int_equal(strlen(k1), WIRE_WS_KEY_LEN);
    assert_memory_equal(k1 + 22, "==", 2);
    assert_true(strcmp(k1, k2) != 0 && strcmp(k1, k3) != 0);
    wire_ws_key(k2, 1, 7);
    assert_string_equal(k1, k2);
    n = wire_ws_upgrade(out, sizeof(out), "127.0.0.1:8080", k1);
    assert_true(n > 0);
    assert_true(strstr(out, k1) != NULL);
    n = wire_ws_upgrade(out, sizeof(out), "127.0.0.1:8080",
                        "dGhlIHNhbXBsZSBub25jZQ==");
    assert_int_equal(n, sizeof(req) - 1);
    assert_memory_equal(out, req, n);
    assert_int_equal(wire_ws_upgrade(out, n, "127.0.0.1:8080",
                                     "dGhlIHNhbXBsZSBub25jZQ=="), 0);
}

/* Parse buf[0..len) whole; write the events and payload lengths to out. */
static size_t
parse_all(enum wire_kind k, const char *buf, size_t len, int *ev,
          size_t *plen, size_t cap)
{
    struct wire_frame f;
    const char *why;
    size_t off = 0, used, n = 0;

    while (off < len && n < cap) {
        assert_int_equal(wire_next(k, buf + off, len - off, MAX, &f, &used,
                                   &why), WIRE_OK);
        ev[n] = (int)f.ev;
        plen[n++] = f.len;
        off += used;
    }
    assert_int_equal(off, len);
    return n;
}

/* Feed buf in reads of `step` bytes through a pending buffer, as the
 * engine does, and check the frames match the whole parse. */
static void
feed_in_steps(enum wire_kind k, const char *buf, size_t len, size_t step,
              const int *ev, const size_t *plen, size_t nframes)
{
    static char pend[8192];
    struct wire_frame f;
    const char *why, *g;
    size_t have = 0, pos = 0, off, used, n = 0, take;

    while (pos < len) {
        take = len - pos < step ? len - pos : step;
        memcpy(pend + have, buf + pos, take);
        have += take;
        pos += take;
        g = t_guarded(pend, have);
        for (off = 0; off < have; off += used) {
            enum wire_status st = wire_next(k, g + off, have - off, MAX, &f,
                                            &used, &why);
            if (st == WIRE_NEED_MORE)
                break;
            assert_int_equal(st, WIRE_OK);
            assert_true(n < nframes);
            assert_int_equal(f.ev, ev[n]);
            assert_int_equal(f.len, plen[n]);
            n++;
        }
        memmove(pend, pend + off, have - off);
        have -= off;
    }
    assert_int_equal(have, 0);
    assert_int_equal(n, nframes);
}

static void
test_streams_in_pieces(void **state)
{
    static const enum wire_kind kind[6] = { WIRE_LINE, WIRE_REDIS, WIRE_NATS,
                                            WIRE_CHAT, WIRE_IRC, WIRE_WS };
    static char stream[6][4096];
    static const char *const chan = "chatbench";
    char pl[100], tmp[512];
    size_t len[6] = { 0, 0, 0, 0, 0, 0 }, plen[64], nf, step, n;
    int ev[64], i, k;

    (void)state;
    strcpy(stream[0], "Welcome to chatd\n");
    strcpy(stream[1], "*3\r\n$9\r\nsubscribe\r\n$9\r\nchatbench\r\n:1\r\n");
    strcpy(stream[2], "INFO {\"max_payload\":1048576}\r\nPONG\r\n");
    strcpy(stream[3], "Welcome, guest1\n*** guest1 joined #lobby\n");
    strcpy(stream[4], ":srv 001 bench1 :Welcome\r\n:srv 422 bench1 :No "
           "MOTD\r\n:bench1!u@h JOIN :#bench\r\n");
    strcpy(stream[5], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
           "websocket\r\nSec-WebSocket-Accept: x\r\n\r\n");
    for (k = 0; k < 6; k++)
        len[k] = strlen(stream[k]);
    len[5] += srv_frame(stream[5] + len[5], 1, 1, "Welcome, guest1", 15, 0);
    for (i = 0; i < 20; i++) {
        wire_payload_encode(pl, 40 + (size_t)i * 3, (uint32_t)i, (uint64_t)i,
                            123);
        n = wire_encode_pub(WIRE_LINE, tmp, sizeof(tmp), chan, pl,
                            40 + (size_t)i * 3, NULL);
        memcpy(stream[0] + len[0], tmp, n);
        len[0] += n;
        n = (size_t)snprintf(tmp, sizeof(tmp),
                             "*3\r\n$7\r\nmessage\r\n$9\r\n%s\r\n$%d\r\n%.*s\r\n",
                             chan, 40 + i * 3, 40 + i * 3, pl);
        memcpy(stream[1] + len[1], tmp, n);
        len[1] += n;
        n = (size_t)snprintf(tmp, sizeof(tmp), "MSG %s 1 %d\r\n%.*s\r\n%s",
                             chan, 40 + i * 3, 40 + i * 3, pl,
                             i % 5 == 0 ? "PING\r\n" : "");
        memcpy(stream[2] + len[2], tmp, n);
        len[2] += n;
        n = (size_t)snprintf(tmp, sizeof(tmp), "%sb%d: %.*s\n%s",
                             i % 2 ? "[#bench] " : "", i, 40 + i * 3, pl,
                             i % 7 == 0 ? "*** b9 left #bench\n" : "");
        memcpy(stream[3] + len[3], tmp, n);
        len[3] += n;
        /* Bare LF now and then, as a lenient server might send. */
        n = (size_t)snprintf(tmp, sizeof(tmp), ":b%d!u@h PRIVMSG #bench "
                             ":%.*s%s%s", i, 40 + i * 3, pl,
                             i % 4 == 0 ? "\n" : "\r\n",
                             i % 6 == 0 ? "PING :srv\r\n" : "");
        memcpy(stream[4] + len[4], tmp, n);
        len[4] += n;
        /* Each line a frame, a ping now and then, one 16-bit length. */
        n = (size_t)snprintf(tmp, sizeof(tmp), "b%d: %.*s", i, 40 + i * 3,
                             pl);
        len[5] += srv_frame(stream[5] + len[5], 1, 1, tmp, n, i == 3);
        if (i % 6 == 0)
            len[5] += srv_frame(stream[5] + len[5], 9, 1, "p", 1, 0);
    }
    for (k = 0; k < 6; k++) {
        nf = parse_all(kind[k], stream[k], len[k], ev, plen, 64);
        assert_true(nf >= 21);
        for (step = 1; step <= 97; step += 3)
            feed_in_steps(kind[k], stream[k], len[k], step, ev, plen, nf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_round_trip),
        cmocka_unit_test(test_payload_every_digit),
        cmocka_unit_test(test_payload_limits),
        cmocka_unit_test(test_payload_found_after_prefix),
        cmocka_unit_test(test_payload_not_found),
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_encode_line),
        cmocka_unit_test(test_chat_lines),
        cmocka_unit_test(test_chat_payload_after_prefixes),
        cmocka_unit_test(test_chat_joined),
        cmocka_unit_test(test_encode_chat),
        cmocka_unit_test(test_irc_lines),
        cmocka_unit_test(test_irc_long_line),
        cmocka_unit_test(test_irc_payload_and_me),
        cmocka_unit_test(test_encode_irc),
        cmocka_unit_test(test_encode_redis),
        cmocka_unit_test(test_encode_nats),
        cmocka_unit_test(test_redis_replies),
        cmocka_unit_test(test_redis_bad),
        cmocka_unit_test(test_nats_ops),
        cmocka_unit_test(test_nats_bad),
        cmocka_unit_test(test_ws_frames),
        cmocka_unit_test(test_ws_frames_bad),
        cmocka_unit_test(test_ws_http_answer),
        cmocka_unit_test(test_encode_ws),
        cmocka_unit_test(test_ws_key_and_upgrade),
        cmocka_unit_test(test_streams_in_pieces),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
