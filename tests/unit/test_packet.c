/* test_packet.c -- the packet framing (src/proto/packet.c) and its encoder.
 *
 * Every input sits against a guard page (guard.h): a parser that reads past
 * its input, or that waits for a payload it should have refused, shows. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/frame.h"

#define MAX 65536

/* A whole packet (header then payload) into buf; returns its size. */
static size_t
put(char *buf, int type, const char *payload, size_t len)
{
    packet_header(buf, type, len);
    if (len > 0)
        memcpy(buf + PACKET_HEADER_LEN, payload, len);
    return PACKET_HEADER_LEN + len;
}

static enum frame_status
next_guarded(const void *buf, size_t len, size_t max, struct frame *f,
             size_t *used)
{
    *used = 99;
    return packet_next(t_guarded(buf, len), len, max, f, used);
}

static void
test_header_needs_more(void **state)
{
    char buf[PACKET_HEADER_LEN];
    struct frame f;
    size_t n, used;

    (void)state;
    packet_header(buf, 1, 0);
    for (n = 0; n < PACKET_HEADER_LEN; n++) {
        assert_int_equal(next_guarded(buf, n, MAX, &f, &used),
                         FRAME_NEED_MORE);
        assert_int_equal(used, 0);
    }
    assert_int_equal(next_guarded(buf, n, MAX, &f, &used), FRAME_OK);
}

/* Every prefix of one packet, one byte more each time: header fields split
 * at every byte, then the payload. */
static void
test_one_byte_at_a_time(void **state)
{
    char buf[64];
    size_t n = put(buf, 1, "hello", 5), k, used;
    enum frame_status st;
    struct frame f;

    (void)state;
    for (k = 0; k <= n; k++) {
        const char *g = t_guarded(buf, k);

        used = 99;
        st = packet_next(g, k, MAX, &f, &used);
        if (k < n) {
            assert_int_equal(st, FRAME_NEED_MORE);
            assert_int_equal(used, 0);
            continue;
        }
        assert_int_equal(st, FRAME_OK);
        assert_int_equal(used, n);
        assert_int_equal(f.type, 1);
        assert_int_equal(f.len, 5);
        assert_ptr_equal(f.data, g + PACKET_HEADER_LEN);
        assert_memory_equal(f.data, "hello", 5);
        assert_null(f.why);
    }
}

/* Several packets fed as the server does: reads of chunk bytes appended to
 * a pending buffer, every complete packet taken after each read. */
static void
test_stream_every_chunk_size(void **state)
{
    static const char *payloads[] = { "", "a", "hello, world", "",
                                       "\0\n\r\xff", "last one" };
    static const size_t lens[] = { 0, 1, 12, 0, 4, 8 };
    char in[256], pend[256];
    size_t n = 0, i, chunk;

    (void)state;
    for (i = 0; i < 6; i++)
        n += put(in + n, (int)i - 2, payloads[i], lens[i]);
    for (chunk = 1; chunk <= n; chunk++) {
        size_t plen = 0, off = 0, got = 0, used;
        struct frame f;

        while (off < n) {
            size_t k = chunk < n - off ? chunk : n - off;

            memcpy(pend + plen, in + off, k);
            plen += k;
            off += k;
            while (packet_next(t_guarded(pend, plen), plen, 32, &f,
                               &used) == FRAME_OK) {
                assert_true(got < 6);
                assert_int_equal(f.type, (int)got - 2);
                assert_int_equal(f.len, lens[got]);
                assert_memory_equal(f.data, payloads[got], f.len);
                got++;
                memmove(pend, pend + used, plen - used);
                plen -= used;
            }
            assert_int_equal(used, 0);
        }
        assert_int_equal(got, 6);
        assert_int_equal(plen, 0);
    }
}

static void
test_zero_length(void **state)
{
    char buf[PACKET_HEADER_LEN];
    const char *g;
    struct frame f;
    size_t used = 99;

    (void)state;
    packet_header(buf, 2, 0);
    g = t_guarded(buf, sizeof(buf));
    assert_int_equal(packet_next(g, sizeof(buf), MAX, &f, &used), FRAME_OK);
    assert_int_equal(used, PACKET_HEADER_LEN);
    assert_int_equal(f.len, 0);
    assert_int_equal(f.type, 2);
    assert_ptr_equal(f.data, g + PACKET_HEADER_LEN);
    /* Even with max 0. */
    assert_int_equal(next_guarded(buf, sizeof(buf), 0, &f, &used), FRAME_OK);
    assert_int_equal(used, PACKET_HEADER_LEN);
}

static void
test_exactly_max(void **state)
{
    static char buf[PACKET_HEADER_LEN + MAX], payload[MAX];
    struct frame f;
    size_t n, used;

    (void)state;
    memset(payload, 'x', sizeof(payload));
    n = put(buf, 1, payload, MAX);
    assert_int_equal(next_guarded(buf, n - 1, MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(next_guarded(buf, n, MAX, &f, &used), FRAME_OK);
    assert_int_equal(f.len, MAX);
    assert_int_equal(used, n);
}

/* Refused as soon as the header is complete, with only the 12 header bytes
 * there: nothing is waited for, nothing need be allocated. */
static void
check_refused(uint64_t len, size_t max)
{
    char buf[PACKET_HEADER_LEN];
    struct frame f;
    size_t used;

    packet_header(buf, 1, len);
    assert_int_equal(next_guarded(buf, PACKET_HEADER_LEN - 1, max, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(next_guarded(buf, PACKET_HEADER_LEN, max, &f, &used),
                     FRAME_BAD);
    assert_int_equal(used, 0);
    assert_int_equal(f.type, 1);
    assert_non_null(f.why);
    assert_string_equal(f.why, "message too long");
}

static void
test_max_plus_one(void **state)
{
    (void)state;
    check_refused(MAX + 1, MAX);
    check_refused(1, 0);
}

static void
test_huge_lengths(void **state)
{
    (void)state;
    check_refused(UINT64_C(1) << 62, MAX);
    check_refused(UINT64_MAX, MAX);
    check_refused(UINT64_MAX, SIZE_MAX - 1);
}

/* With no limit to speak of, a huge length is waited for: 12 + len must
 * not wrap around into a small number that looks complete. */
static void
test_huge_lengths_no_wrap(void **state)
{
    char buf[PACKET_HEADER_LEN + 16];
    struct frame f;
    size_t used;

    (void)state;
    memset(buf, 'p', sizeof(buf));
    packet_header(buf, 1, UINT64_MAX);
    assert_int_equal(next_guarded(buf, sizeof(buf), SIZE_MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
    packet_header(buf, 1, UINT64_MAX - PACKET_HEADER_LEN + 1);
    assert_int_equal(next_guarded(buf, sizeof(buf), SIZE_MAX, &f, &used),
                     FRAME_NEED_MORE);
    packet_header(buf, 1, UINT64_C(1) << 62);
    assert_int_equal(next_guarded(buf, sizeof(buf), SIZE_MAX, &f, &used),
                     FRAME_NEED_MORE);
}

static void
test_types_reported_as_sent(void **state)
{
    static const int types[] = { -1, INT_MIN, INT_MAX, 0, 3, 99 };
    char buf[PACKET_HEADER_LEN + 2];
    struct frame f;
    size_t i, used;

    (void)state;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        put(buf, types[i], "hi", 2);
        assert_int_equal(next_guarded(buf, sizeof(buf), MAX, &f, &used),
                         FRAME_OK);
        assert_int_equal(f.type, types[i]);
        assert_int_equal(f.len, 2);
        /* And on a refused length too, for the log line. */
        packet_header(buf, types[i], MAX + 1);
        assert_int_equal(next_guarded(buf, PACKET_HEADER_LEN, MAX, &f, &used),
                         FRAME_BAD);
        assert_int_equal(f.type, types[i]);
    }
}

static void
test_two_packets_in_one_buffer(void **state)
{
    char buf[64];
    size_t n = put(buf, 0, "alice", 5), used;
    const char *g;
    struct frame f;

    (void)state;
    n += put(buf + n, 1, "hi", 2);
    buf[n++] = 'x';             /* the start of a third */
    g = t_guarded(buf, n);
    assert_int_equal(packet_next(g, n, MAX, &f, &used), FRAME_OK);
    assert_int_equal(f.type, 0);
    assert_int_equal(used, 17);
    assert_memory_equal(f.data, "alice", 5);
    assert_int_equal(packet_next(g + 17, n - 17, MAX, &f, &used), FRAME_OK);
    assert_int_equal(f.type, 1);
    assert_int_equal(used, 14);
    assert_ptr_equal(f.data, g + 17 + PACKET_HEADER_LEN);
    assert_memory_equal(f.data, "hi", 2);
    assert_int_equal(packet_next(g + 31, n - 31, MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
}

static void
test_good_then_refused(void **state)
{
    char buf[64];
    size_t n = put(buf, 1, "ok", 2), used;
    const char *g;
    struct frame f;

    (void)state;
    packet_header(buf + n, 1, UINT64_C(1) << 62);
    n += PACKET_HEADER_LEN;
    g = t_guarded(buf, n);
    assert_int_equal(packet_next(g, n, MAX, &f, &used), FRAME_OK);
    assert_int_equal(used, 14);
    assert_int_equal(packet_next(g + used, n - used, MAX, &f, &used),
                     FRAME_BAD);
}

/* The encoder: a 4-byte int, then an 8-byte length, native order, no
 * padding, and packet_next() reads back what it wrote. */
static void
test_header_round_trip(void **state)
{
    static const int types[] = { 0, 1, 2, 3, -1, INT_MIN, INT_MAX };
    static const uint64_t lens[] = { 0, 1, 255, 256, MAX, MAX + 1,
                                     UINT64_C(1) << 32, UINT64_C(1) << 62,
                                     UINT64_MAX };
    char hdr[PACKET_HEADER_LEN + 1];
    size_t i, j, used;
    struct frame f;

    (void)state;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            uint64_t len;
            int type;

            hdr[PACKET_HEADER_LEN] = '#';
            packet_header(hdr, types[i], lens[j]);
            assert_int_equal(hdr[PACKET_HEADER_LEN], '#');  /* 12 bytes */
            memcpy(&type, hdr, 4);
            memcpy(&len, hdr + 4, 8);
            assert_int_equal(type, types[i]);
            assert_true(len == lens[j]);
            if (lens[j] == 0) {
                assert_int_equal(next_guarded(hdr, PACKET_HEADER_LEN, MAX,
                                              &f, &used), FRAME_OK);
                assert_int_equal(f.type, types[i]);
            } else if (lens[j] > MAX) {
                assert_int_equal(next_guarded(hdr, PACKET_HEADER_LEN, MAX,
                                              &f, &used), FRAME_BAD);
                assert_int_equal(f.type, types[i]);
            } else {
                assert_int_equal(next_guarded(hdr, PACKET_HEADER_LEN, MAX,
                                              &f, &used), FRAME_NEED_MORE);
            }
        }
    }
}

static void
test_header_layout(void **state)
{
    char hdr[PACKET_HEADER_LEN], want[PACKET_HEADER_LEN];
    uint64_t len = UINT64_C(0x0102030405060708);
    int type = 0x0a0b0c0d;

    (void)state;
    memcpy(want, &type, 4);
    memcpy(want + 4, &len, 8);
    packet_header(hdr, type, len);
    assert_memory_equal(hdr, want, PACKET_HEADER_LEN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_needs_more),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_stream_every_chunk_size),
        cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_exactly_max),
        cmocka_unit_test(test_max_plus_one),
        cmocka_unit_test(test_huge_lengths),
        cmocka_unit_test(test_huge_lengths_no_wrap),
        cmocka_unit_test(test_types_reported_as_sent),
        cmocka_unit_test(test_two_packets_in_one_buffer),
        cmocka_unit_test(test_good_then_refused),
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_header_layout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
