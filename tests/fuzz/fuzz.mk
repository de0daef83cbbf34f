# fuzz.mk -- libFuzzer harnesses for the parsers (included by the Makefile).
#
#   make fuzz [FUZZ_TIME=60]  build each harness and run it for FUZZ_TIME
#                             seconds from a scratch copy of its seed corpus
#   make fuzz-replay          run each harness once over the committed seed
#                             corpus only: quick, for CI
#
# A harness compiles the parsers' sources itself, and the server's input
# assembly that feeds them (src/server/inbuf.c), with clang's
# -fsanitize=fuzzer,address,undefined, linked with libcrypto (ws.c's
# accept key); everything goes under build-fuzz/.
# The committed corpus (tests/fuzz/corpus/<target>/) is only ever read: a
# run grows build-fuzz/corpus-<target>/, and a failing input is written to
# build-fuzz/<target>-crash-*, the broken invariant to build-fuzz/<target>.log.

FUZZ_CC       ?= clang
FUZZ_TIME     ?= 60
FUZZ_B        := build-fuzz
FUZZ_TARGETS  := line packet addr utf8 text irc http ws cmsg listenfds
FUZZ_CFLAGS   ?= -g -O1 -fno-omit-frame-pointer
FUZZ_SAN      := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
                 -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wformat=2
FUZZ_SRC      := $(wildcard src/proto/*.c) src/net/addr.c $(wildcard src/util/*.c) \
                 src/server/inbuf.c
FUZZ_LDLIBS   := -lcrypto
FUZZ_HDR      := $(wildcard src/proto/*.h src/net/*.h src/util/*.h) \
                 src/server/inbuf.h tests/fuzz/fuzz_util.h
FUZZ_BINS     := $(addprefix $(FUZZ_B)/fuzz_,$(FUZZ_TARGETS))
# Per-target libFuzzer options.  The line harness's max is at most 128, so
# longer inputs add time, not cases.
FUZZ_OPTS_line   := -max_len=1024
FUZZ_OPTS_packet :=
FUZZ_OPTS_addr   :=
FUZZ_OPTS_utf8   :=
FUZZ_OPTS_text   := -max_len=2048
FUZZ_OPTS_irc    :=
# A head can be HTTP_HEAD_MAX (8192) bytes: longer inputs reach "too large".
FUZZ_OPTS_http   := -max_len=9000
FUZZ_OPTS_ws     := -max_len=8192
FUZZ_OPTS_cmsg   := -max_len=5000
FUZZ_OPTS_listenfds := -max_len=1024
FUZZ_ENV      := ASAN_OPTIONS=detect_leaks=1 \
                 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz-check

# clang links -fsanitize=fuzzer only with its libFuzzer runtime (Debian:
# libclang-rt-<version>-dev): install it when we can, else say so.
fuzz-check:
	@mkdir -p $(FUZZ_B)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz: $(FUZZ_CC) not" \
	    "found: install clang (Debian: apt-get install clang)" >&2; exit 1; }
	@printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
	    '{ (void)d; (void)n; return 0; }' >$(FUZZ_B)/probe.c
	@probe() { $(FUZZ_CC) $(FUZZ_SAN) -o $(FUZZ_B)/probe $(FUZZ_B)/probe.c \
	    >/dev/null 2>&1; }; \
	probe && exit 0; \
	pkg=libclang-rt-$$($(FUZZ_CC) -dumpversion | cut -d. -f1)-dev; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "fuzz: installing $$pkg (the libFuzzer runtime)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq $$pkg >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq $$pkg >/dev/null; }; \
	fi; \
	probe || { echo "fuzz: '$(FUZZ_CC) -fsanitize=fuzzer' cannot link: the" \
	    "libFuzzer runtime is missing (Debian: apt-get install $$pkg)" >&2; \
	    exit 1; }

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC) $(FUZZ_HDR) | fuzz-check
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(filter-out -MMD -MP,$(CPPFLAGS)) $(FUZZ_WARN) \
	    $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_SRC) $(FUZZ_LDLIBS)

# Each target runs even if one before it failed; the exit status is the
# verdict over all of them.  The summary line is libFuzzer's "Done N runs
# in T second(s)".
fuzz: $(FUZZ_BINS)
	@$(foreach t,$(FUZZ_TARGETS),opts_$(t)='$(FUZZ_OPTS_$(t))';) \
	fail=0; for t in $(FUZZ_TARGETS); do \
	    eval "opts=\$$opts_$$t"; \
	    work=$(FUZZ_B)/corpus-$$t; log=$(FUZZ_B)/$$t.log; \
	    rm -rf $$work && mkdir -p $$work && \
	    cp tests/fuzz/corpus/$$t/* $$work/ || exit 1; \
	    echo "  FUZZ    $$t for $(FUZZ_TIME) s"; \
	    if $(FUZZ_ENV) ./$(FUZZ_B)/fuzz_$$t -max_total_time=$(FUZZ_TIME) \
	        -timeout=10 -print_final_stats=1 $$opts \
	        -artifact_prefix=$(FUZZ_B)/$$t- $$work >$$log 2>&1; then \
	        echo "  fuzz_$$t: $$(grep '^Done' $$log)," \
	            "corpus $$(ls $$work | wc -l) inputs"; \
	    else \
	        fail=1; tail -n 30 $$log; \
	        echo "  fuzz_$$t: FAILED (log: $$log)"; \
	    fi; \
	done; exit $$fail

fuzz-replay: $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    log=$(FUZZ_B)/$$t-replay.log; \
	    if $(FUZZ_ENV) ./$(FUZZ_B)/fuzz_$$t -artifact_prefix=$(FUZZ_B)/$$t- \
	        tests/fuzz/corpus/$$t/* >$$log 2>&1; then \
	        echo "  REPLAY  $$t: $$(ls tests/fuzz/corpus/$$t | wc -l) inputs OK"; \
	    else \
	        fail=1; tail -n 30 $$log; \
	        echo "  REPLAY  $$t: FAILED (log: $$log)"; \
	    fi; \
	done; exit $$fail
