# chatd -- one GNU Makefile; everything it builds goes under build/.
#
#   make            build every binary into build/
#   make run        build and start the chat server (chatd --profile chat)
#   make test       install what the tests need, run unit + integration tests
#   make sanitize   the same tests built with ASan + UBSan in build-san/
#   make bench      chatbench against chatd, Redis and NATS (bench/RESULTS.md)
#   make install    PREFIX=/usr/local DESTDIR= (uninstall undoes it)
#   make man-check  mandoc -Tlint on the manual pages (part of make test)
#   make deb        the Debian package, into build/deb/ (deb-check tests it)

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
B       ?= build

CC      ?= cc
PYTHON  ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wformat=2
CPPFLAGS += -Isrc -MMD -MP -D_POSIX_C_SOURCE=200809L
LDLIBS  ?=
LDLIBS  += -lssl -lcrypto  # OpenSSL: TLS doors (net/tls.c); SHA-1, base64 (ws.c)
LDLIBS  += -lhiredis   # the cluster's Redis client (src/cluster)
UNAME_S := $(shell uname -s)
ifeq ($(UNAME_S),Linux)
CPPFLAGS += -D_GNU_SOURCE
endif
ifeq ($(UNAME_S),Darwin)
CPPFLAGS += -D_DARWIN_C_SOURCE
endif
ifdef WERROR
CFLAGS  += -Werror
endif
ifdef SANITIZE
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# The layers (STYLE.md §1): core = util + loop + net + proto; server on top.
CORE_SRC   := $(wildcard src/util/*.c src/loop/*.c src/net/*.c src/proto/*.c)
SERVER_SRC := $(wildcard src/hub/*.c src/cluster/*.c src/server/*.c)
CLIENT_SRC := $(wildcard src/client/*.c)
ECHO_SRC   := $(wildcard src/echo/*.c)
BENCH_SRC  := $(wildcard src/bench/*.c)

obj = $(patsubst src/%.c,$(B)/obj/%.o,$(1))
CORE_OBJ   := $(call obj,$(CORE_SRC))
SERVER_OBJ := $(call obj,$(SERVER_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
ECHO_OBJ   := $(call obj,$(ECHO_SRC))
BENCH_OBJ  := $(call obj,$(BENCH_SRC))

# A binary exists once its main() does.
PROGS := $(patsubst src/cmd/%.c,%,$(wildcard src/cmd/*.c))
BINS  := $(addprefix $(B)/,$(PROGS))
ALL   := $(BINS) $(if $(filter chatd,$(PROGS)),$(B)/chatsrv)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
UNIT_HELPERS := $(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c))

.PHONY: all run test unit unit-build integration sanitize bench irctest install \
        uninstall clean deps format tidy cppcheck valgrind fuzz fuzz-replay \
        torture soak man-check deb deb-check test-cluster bench-cluster
.DEFAULT_GOAL := all

all: $(ALL)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/libcore.a: $(CORE_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The web client, carried inside chatd: client.html as a C array.
SERVER_OBJ += $(B)/obj/gen/web_page.o
$(B)/gen/web_page.c: src/server/web/client.html scripts/embed.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)sh scripts/embed.sh web_page $< > $@.tmp && mv $@.tmp $@
$(B)/obj/gen/web_page.o: $(B)/gen/web_page.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/libserver.a: $(SERVER_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# chatbench's engine (src/bench has no main), so its unit tests link it.
$(B)/libbench.a: $(BENCH_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/chatd: $(B)/obj/cmd/chatd.o $(B)/libserver.a $(B)/libcore.a
$(B)/chat: $(B)/obj/cmd/chat.o $(CLIENT_OBJ) $(B)/libcore.a
$(B)/echod: $(B)/obj/cmd/echod.o $(ECHO_OBJ) $(B)/libcore.a
$(B)/echod: LDLIBS += -lpthread
$(B)/chatbench: $(B)/obj/cmd/chatbench.o $(B)/libbench.a $(B)/libcore.a
$(B)/chatbench: LDLIBS += -lm

$(BINS):
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

# chatsrv is chatd under another name: main() looks at argv[0].
$(B)/chatsrv: $(B)/chatd
	$(Q)ln -sf chatd $@

# Unit tests: one cmocka program per tests/unit/test_<module>.c, linked
# against every library, so each takes the objects it tests from them.
UNIT_LIBS := $(B)/libbench.a $(B)/libserver.a $(B)/libcore.a
$(B)/tests/%: tests/unit/%.c $(UNIT_HELPERS) $(UNIT_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(UNIT_HELPERS) $(UNIT_LIBS) -lcmocka -lm -lpthread $(LDLIBS)

unit-build: $(UNIT_BINS)

run:
	@sh scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	./$(B)/chatd --profile chat

deps:
	@sh scripts/deps.sh test

test: deps
	$(MAKE) --no-print-directory WERROR=1 all $(UNIT_BINS)
	@$(PYTHON) tests/run.py --build $(B)

unit: deps
	$(MAKE) --no-print-directory WERROR=1 $(UNIT_BINS)
	@$(PYTHON) tests/run.py --build $(B) --unit-only

integration: deps
	$(MAKE) --no-print-directory WERROR=1 all
	@$(PYTHON) tests/run.py --build $(B) --integration-only

sanitize: deps
	$(MAKE) --no-print-directory B=build-san SANITIZE=address,undefined \
	    CC=$(if $(filter cc,$(CC)),gcc,$(CC)) WERROR=1 CFLAGS="-O1 -g" all \
	    $(patsubst $(B)/%,build-san/%,$(UNIT_BINS))
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(PYTHON) tests/run.py --build build-san --sanitize

# The cluster's tests alone (three nodes and a Redis; make test runs them
# too).
test-cluster: deps all
	@CHATD_BUILD=$(abspath $(B)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration/test_cluster.py

valgrind: deps all
	@CHATD_VALGRIND=1 $(PYTHON) tests/run.py --build $(B) --integration-only

bench: all
	@sh bench/run.sh

# Only the cluster scenario (3 nodes on one Redis, beside one chatd): its
# section of bench/RESULTS.md is replaced, the rest kept.
bench-cluster: all
	@BENCH_ONLY=cluster sh bench/run.sh

# irctest's RFC selection against build/chatd (not part of make test):
#   make irctest IRCTEST=/path/to/irctest   (a checkout at commit 219ca65)
irctest: all
	@test -n "$(IRCTEST)" || { echo "usage: make irctest IRCTEST=/path/to/irctest" \
	    "(github progval/irctest at 219ca65, outside this tree)" >&2; exit 2; }
	@sh scripts/irctest.sh "$(IRCTEST)"

# What `make install` puts where (SPEC "Operation"): the binaries, the
# manual pages, an example configuration and its MOTD in /etc/chatd (kept
# if already there: they are the administrator's), and the systemd units,
# their paths rewritten for BINDIR and SYSCONFDIR.  The Debian package
# installs with this too (debian/rules).
MANPAGES := man/chatd.1 man/chat.1 man/echod.1 man/chatbench.1
CONFFILES := chatd.conf motd
UNITS    := chatd.service chatd.socket chatd-irc.socket chatd-http.socket
CONFDIR   = $(DESTDIR)$(SYSCONFDIR)/chatd

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(CONFDIR) \
	    $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	ln -sf chatd $(DESTDIR)$(BINDIR)/chatsrv
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1
	ln -sf chatd.1 $(DESTDIR)$(MANDIR)/man1/chatsrv.1
	@for f in $(CONFFILES); do \
	    if [ -e $(CONFDIR)/$$f ]; then \
	        echo "keeping $(CONFDIR)/$$f (etc/$$f is the example)"; \
	    else \
	        echo "install -m 644 etc/$$f $(CONFDIR)/$$f"; \
	        install -m 644 etc/$$f $(CONFDIR)/$$f || exit 1; \
	    fi; \
	done
	@for u in $(UNITS); do \
	    echo "install -m 644 etc/$$u $(DESTDIR)$(SYSTEMDUNITDIR)/$$u"; \
	    sed -e 's|/usr/bin/chatd|$(BINDIR)/chatd|g' \
	        -e 's|/etc/chatd/|$(SYSCONFDIR)/chatd/|g' etc/$$u \
	        > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
	    chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
	    mv $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp \
	        $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done

# Leaves a configuration that differs from the example: it is someone's.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(PROGS) chatsrv)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)) chatsrv.1)
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNITS))
	@for f in $(CONFFILES); do \
	    if cmp -s etc/$$f $(CONFDIR)/$$f; then rm -f $(CONFDIR)/$$f; \
	    elif [ -e $(CONFDIR)/$$f ]; then echo "keeping $(CONFDIR)/$$f (changed)"; \
	    fi; \
	done; rmdir $(CONFDIR) 2>/dev/null || true

man-check:
	@sh scripts/man-check.sh $(B)

# The Debian package (debian/), built in a copy of the tree under
# build/deb/ so that dpkg-buildpackage's output, which lands in the
# parent of the tree it builds, stays in build/deb/ too.  Not part of make
# test (a minute or two).  deb-check also runs lintian, installs the
# package and checks what it put where.
deb:
	@sh scripts/deb.sh build

deb-check:
	@sh scripts/deb.sh check

# Only the lines changed since HEAD (.clang-format is STYLE.md §2): the
# tree keeps its hand-aligned struct members, comments and tables.
format:
	git clang-format --extensions c,h HEAD

tidy:
	clang-tidy --quiet -checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-implicit-widening-of-multiplication-result,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
	    $(CORE_SRC) $(SERVER_SRC) $(CLIENT_SRC) $(ECHO_SRC) $(BENCH_SRC) \
	    $(wildcard src/cmd/*.c) -- -Isrc \
	    -D_POSIX_C_SOURCE=200809L -D_GNU_SOURCE -std=c11

cppcheck:
	cppcheck --quiet --enable=warning,performance,portability \
	    --error-exitcode=1 --inline-suppr -Isrc -D_POSIX_C_SOURCE=200809L \
	    -D_GNU_SOURCE -D__linux__ src

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(B)/obj/*/*.d $(B)/tests/*.d)

# Fuzzing (libFuzzer, clang): `make fuzz`, `make fuzz-replay`.
-include tests/fuzz/fuzz.mk

# Torture suite, fault-injection shim and soak: `make torture`, `make soak`.
-include tests/torture/torture.mk
