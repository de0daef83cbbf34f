# torture.mk -- the torture suite, the fault-injection shim and the soak
# (included by the Makefile).
#
#   make torture            every case in tests/torture/, at full size
#                           (TORTURE_FULL=0: the scaled-down sizes)
#   make torture-san        the same (scaled down) against the ASan + UBSan
#                           build in build-san/
#   make valgrind-torture   the light families against chatd under memcheck
#   make soak               SOAK_SECONDS (default 600) of mixed load, then
#                           RSS, descriptors and deliveries checked
#   $(B)/faultshim.so       the LD_PRELOAD shim, built with `all`
#
# TORTURE_ARGS is passed to pytest (e.g. TORTURE_ARGS="-k epoll -x").

TORTURE_FULL  ?= 1
TORTURE_ARGS  ?=
SOAK_SECONDS  ?= 600
SOAK_ARGS     ?=
TORTURE_PYTEST = $(PYTHON) -m pytest -q -p no:cacheprovider
VALGRIND_TORTURE := tests/torture/test_races.py \
                    tests/torture/test_packet_lies.py \
                    tests/torture/test_input.py

.PHONY: torture torture-san valgrind-torture soak

# The shim is a plain shared object: no sanitizer (it is preloaded ahead
# of the sanitizer's runtime) and none of the project's objects.
$(B)/faultshim.so: tests/shim/faultshim.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=c11 -Wall -Wextra $(if $(WERROR),-Werror) -O2 -g -fPIC \
	    -shared -o $@ $< -ldl

all: $(B)/faultshim.so

torture: deps
	$(MAKE) --no-print-directory WERROR=1 all
	@CHATD_BUILD=$(abspath $(B)) TORTURE_FULL=$(TORTURE_FULL) \
	    $(TORTURE_PYTEST) tests/torture $(TORTURE_ARGS)

torture-san: deps
	$(MAKE) --no-print-directory B=build-san SANITIZE=address,undefined \
	    CC=$(if $(filter cc,$(CC)),gcc,$(CC)) WERROR=1 CFLAGS="-O1 -g" all
	@CHATD_BUILD=$(abspath build-san) CHATD_SANITIZE=1 TORTURE_FULL=0 \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(TORTURE_PYTEST) tests/torture $(TORTURE_ARGS)

valgrind-torture: deps
	$(MAKE) --no-print-directory WERROR=1 all
	@CHATD_BUILD=$(abspath $(B)) CHATD_VALGRIND=1 TORTURE_FULL=0 \
	    $(TORTURE_PYTEST) $(VALGRIND_TORTURE) -k epoll $(TORTURE_ARGS)

soak: deps
	$(MAKE) --no-print-directory WERROR=1 all
	@CHATD_BUILD=$(abspath $(B)) $(PYTHON) tests/soak/soak.py \
	    --seconds $(SOAK_SECONDS) $(SOAK_ARGS)
