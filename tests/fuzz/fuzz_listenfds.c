/* fuzz_listenfds.c -- libFuzzer harness for listen_env_parse.
 *
 * The input is up to three NUL-separated texts: LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES (a text missing from the input is an unset variable).
 * The process is 4242.  Checked, beyond "no crash":
 *   - the result is -1, with a one-line NUL-terminated reason, or a count
 *     no greater than the caller's max;
 *   - the descriptors are 3, 4, ... in order;
 *   - each name points into the LISTEN_FDNAMES text, holds no ':' and no
 *     control character, and the names joined by ':' give back that text;
 *     with no LISTEN_FDNAMES, every name is empty;
 *   - the parser allocates nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/listen_env.h"

#include "fuzz_util.h"

#define MAX 8

static void
check_names(const struct listen_env_fd *out, int n, const char *names)
{
    size_t off = 0;
    int i;

    for (i = 0; i < n; i++) {
        CHECK(out[i].fd == LISTEN_ENV_FD_START + i);
        CHECK(out[i].namelen <= LISTEN_ENV_NAME_MAX);
        if (names == NULL) {
            CHECK(out[i].namelen == 0);
            continue;
        }
        CHECK(out[i].name == names + off);
        CHECK(memchr(out[i].name, ':', out[i].namelen) == NULL);
        off += out[i].namelen;
        CHECK(names[off] == (i + 1 < n ? ':' : '\0'));
        off++;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct listen_env_fd out[MAX];
    const char *text[3] = {NULL, NULL, NULL};
    char err[ERR_LEN];
    char *copy = malloc(size + 1);
    size_t i, at = 0;
    int n, k = 0;

    fuzz_hook_allocs();
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (i = 0; i <= size && k < 3; i++)
        if (copy[i] == '\0') {
            text[k++] = copy + at;
            at = i + 1;
        }
    memset(err, 'E', sizeof(err));
    counting = 1;
    n = listen_env_parse(text[0], text[1], text[2], 4242, out, MAX, err);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(n >= -1 && n <= MAX);
    if (n == -1) {
        size_t len = strnlen(err, ERR_LEN);

        CHECK(len > 0 && len < ERR_LEN);
        CHECK(memchr(err, '\n', len) == NULL);
    } else if (n > 0) {
        CHECK(text[0] != NULL && strtol(text[0], NULL, 10) == 4242);
        check_names(out, n, text[2]);
    }
    free(copy);
    return 0;
}
