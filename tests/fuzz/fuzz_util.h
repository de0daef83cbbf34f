/* fuzz_util.h -- what every libFuzzer harness here shares: the invariant
 * check, and an allocation counter fed by the sanitizer's malloc hook, so
 * a harness can assert that a parser allocates nothing.
 *
 * Each harness is one translation unit and includes this once. */
#ifndef CHATD_FUZZ_UTIL_H
#define CHATD_FUZZ_UTIL_H

#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) broken(#c, __FILE__, __LINE__); } while (0)

/* Count allocations while set.  Thread-local: libFuzzer's own threads
 * (the RSS watcher) allocate at any moment, and those are not the
 * parser's. */
static _Thread_local int counting;
static size_t allocs;

static void
broken(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

static void
on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    if (counting)
        allocs++;
}

static void
on_free(const volatile void *p)
{
    (void)p;
}

/* Install the allocation hooks once per process. */
static void
fuzz_hook_allocs(void)
{
    static int hooked;

    if (!hooked)
        hooked = __sanitizer_install_malloc_and_free_hooks(on_malloc,
                                                           on_free) > 0;
}

#endif
