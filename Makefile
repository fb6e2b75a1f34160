# chitchatd: one non-recursive GNU Makefile.
#
#   make            build build/chitchatd, build/chitchatctl, build/libchitchat.a
#   make run        install missing packages, build, run the daemon in the foreground
#   make check      install missing packages, build, run every test, plain and
#                   under ASan+UBSan (build/san)
#   make e2e        the real-network fault tests alone (tests/e2e/, root; network
#                   namespaces), E2E="partition churn" for some scenarios only
#   make bench      benchmarks (bench/): engine, control socket, cluster of N
#                   chitchatd vs N Serf agents (installs serf, python3-msgpack),
#                   catch-up of a 4 MB state;
#                   writes bench/results/latest.md (~12 min). BENCH_QUICK=1: ~30 s
#                   (N=10 only, one run); make bench-quick is the same.
#   make fuzz       libFuzzer targets (tests/fuzz/, clang) built into build/fuzz,
#                   each run FUZZ_SECONDS (default 60) from its seed corpus;
#                   make check runs a short smoke of each (FUZZ_SMOKE_SECONDS)
#   make install    PREFIX=/usr/local DESTDIR= (binaries, man pages, bash completion,
#                   systemd unit, sysusers.d file, /etc/chitchatd/chitchatd.conf if absent)
#   make SANITIZE=address,undefined BUILD=build/san ...   sanitizer build

BUILD    ?= build
PREFIX   ?= /usr/local
SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
SANITIZE ?=
CC       ?= gcc

PKG_CONFIG ?= pkg-config
PKG_LIB    := libzstd jansson libsodium
PKG_DAEMON := libevent inih
PKG_TEST   := check

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wimplicit-fallthrough -Wno-format-nonliteral
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2

OPT      ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Icommon -MMD -MP
CFLAGS   += -std=c17 $(OPT) $(WARN) $(HARDEN)
# --as-needed: a program records only the libraries it uses (the daemon
# needs no libm; an unused mapping still costs resident memory)
LDFLAGS  += -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
# The fuzz build (make fuzz-build): every object gets libFuzzer's coverage.
ifneq ($(FUZZ),)
CFLAGS  += -fsanitize=fuzzer-no-link
endif

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

LIB_SRCS    := $(wildcard common/*.c)
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB         := $(BUILD)/libchitchat.a
LIB_LDLIBS  := $(call pc_libs,$(PKG_LIB)) -lm

CTL_SRCS    := $(wildcard ctl/*.c)
CTL_OBJS    := $(CTL_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_SRCS := $(wildcard daemon/*.c)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)

# Tests: every tests/unit/check_*.c and tests/sim/check_*.c is one Check
# binary, linked with the support code in tests/support/ and the engine
# library, never with libevent (the engine must not need it).
TEST_SRCS    := $(wildcard tests/unit/check_*.c tests/sim/check_*.c)
TEST_BINS    := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
SUPPORT_SRCS := $(wildcard tests/support/*.c)
SUPPORT_OBJS := $(SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_LDLIBS  := $(call pc_libs,$(PKG_TEST))
# Daemon tests (tests/daemon/check_*.c) call daemon modules directly (RPC
# handlers without a socket, config parsing): they link the daemon objects
# but main, and libevent.
DTEST_SRCS   := $(wildcard tests/daemon/check_*.c)
DTEST_BINS   := $(DTEST_SRCS:tests/%.c=$(BUILD)/tests/%)
DAEMON_LIB_OBJS := $(filter-out $(BUILD)/obj/daemon/chitchatd.o,$(DAEMON_OBJS))

# The e2e helpers (tests/e2e/*.c): plain programs, no Check, no engine library.
E2E_SRCS := $(wildcard tests/e2e/*.c)
E2E_BINS := $(E2E_SRCS:tests/%.c=$(BUILD)/tests/%)

# The libFuzzer targets (tests/fuzz/*.c), built with clang in their own
# build directory, FUZZ_BUILD, under ASan+UBSan.
FUZZ_TARGETS := fuzz_decode fuzz_apply fuzz_ctl_line fuzz_catchup
FUZZ_BUILD   ?= build/fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run check tests test-run e2e bench bench-quick install clean lint \
	fuzz fuzz-build fuzz-bins
all: $(BUILD)/chitchatd $(BUILD)/chitchatctl $(LIB)

deps:
	@sh scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(call pc_cflags,$(PKG_LIB) $(PKG_DAEMON) $(PKG_TEST)) -Itests/support $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/chitchatctl: $(CTL_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJS) $(LIB) $(LIB_LDLIBS)

$(BUILD)/chitchatd: $(DAEMON_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIB) $(call pc_libs,$(PKG_DAEMON)) $(LIB_LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(SUPPORT_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJS) $(LIB) $(TEST_LDLIBS) $(LIB_LDLIBS)

$(BUILD)/tests/sim/%: $(BUILD)/obj/tests/sim/%.o $(SUPPORT_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJS) $(LIB) $(TEST_LDLIBS) $(LIB_LDLIBS)

$(BUILD)/tests/daemon/%: $(BUILD)/obj/tests/daemon/%.o $(SUPPORT_OBJS) $(DAEMON_LIB_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJS) $(DAEMON_LIB_OBJS) $(LIB) \
		$(TEST_LDLIBS) $(call pc_libs,$(PKG_DAEMON)) $(LIB_LDLIBS)

$(BUILD)/tests/e2e/%: $(BUILD)/obj/tests/e2e/%.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LIB_LDLIBS)

tests: $(TEST_BINS) $(DTEST_BINS) $(E2E_BINS) $(BUILD)/chitchatctl $(BUILD)/chitchatd

# ---- fuzzing -----------------------------------------------------------------
# fuzz-bins runs inside the fuzz build (BUILD=$(FUZZ_BUILD) CC=clang FUZZ=1).
fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/%)

$(BUILD)/fuzz_decode $(BUILD)/fuzz_apply $(BUILD)/fuzz_catchup: $(BUILD)/%: $(BUILD)/obj/tests/fuzz/%.o $(LIB)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LIB_LDLIBS)

$(BUILD)/fuzz_ctl_line: $(BUILD)/obj/tests/fuzz/fuzz_ctl_line.o $(DAEMON_LIB_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(DAEMON_LIB_OBJS) $(LIB) \
		$(call pc_libs,$(PKG_DAEMON)) $(LIB_LDLIBS)

# Builds the targets if clang links libFuzzer here; says why not otherwise.
fuzz-build:
	@if printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' | \
	    $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then \
		$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) FUZZ=1 SANITIZE=address,undefined \
		    OPT="-O1 -g" fuzz-bins; \
	else \
		echo "fuzz: $(FUZZ_CC) -fsanitize=fuzzer does not link here (install clang and its" \
		    "libFuzzer runtime: make fuzz does)" >&2; \
	fi

# Each target for FUZZ_SECONDS from its seed corpus (build/fuzz/corpus/).
fuzz:
	@sh scripts/deps.sh
	$(MAKE) fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The whole suite: plain build, then the same tests under ASan+UBSan.
check: deps
	$(MAKE) all tests
	$(MAKE) BUILD=build/san SANITIZE=address,undefined OPT="-O1 -g" tests
	$(MAKE) fuzz-build
	CHITCHAT_FUZZ_BUILD=$(FUZZ_BUILD) CHITCHAT_FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) \
		sh tests/run.sh build build/san

# One build's tests only (make test-run BUILD=build).
test-run: tests
	sh tests/run.sh $(BUILD)

# The e2e scenarios alone, against this build (tests/run.sh runs them too,
# for the plain build).
e2e: deps
	$(MAKE) all $(E2E_BINS)
	bash tests/e2e/run.sh $(BUILD) $(E2E)

# The benchmark's own packages (Serf, to compare with, and the msgpack module
# its RPC client needs) are not part of the default deps of make check.
BENCH_QUICK ?=
bench: deps
	@CHITCHAT_EXTRA_PKGS="serf python3-msgpack" sh scripts/deps.sh
	$(MAKE) all $(BENCH_BINS)
	sh bench/run.sh $(BUILD) $(if $(BENCH_QUICK),--quick)

bench-quick:
	$(MAKE) bench BENCH_QUICK=1

# The control socket goes next to the build (the default is under /run,
# which systemd's RuntimeDirectory= creates); RUN_ARGS may override it.
run: deps all
	$(BUILD)/chitchatd --control-socket $(BUILD)/chitchatd.sock $(RUN_ARGS)

# An existing $(SYSCONFDIR)/chitchatd/chitchatd.conf is never overwritten.
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/chitchatd $(DESTDIR)$(PREFIX)/sbin/chitchatd
	install -m 0755 $(BUILD)/chitchatctl $(DESTDIR)$(PREFIX)/bin/chitchatctl
	if ls docs/*.[158] >/dev/null 2>&1; then \
		install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
			$(DESTDIR)$(PREFIX)/share/man/man8; \
		for m in docs/*.1; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man1/; done; \
		for m in docs/*.5; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man5/; done; \
		for m in docs/*.8; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man8/; done; \
	fi; true
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 ctl/chitchatctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/chitchatctl
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/chitchatd
	sed -e 's|/usr/local/sbin/chitchatd|$(PREFIX)/sbin/chitchatd|' \
	    -e 's|/etc/chitchatd/|$(SYSCONFDIR)/chitchatd/|' \
	    systemd/chitchatd.service > $(DESTDIR)$(SYSTEMDUNITDIR)/chitchatd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/chitchatd.service
	install -m 0644 systemd/chitchatd.sysusers $(DESTDIR)$(SYSUSERSDIR)/chitchatd.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/chitchatd/chitchatd.conf ] || \
		install -m 0644 etc/chitchatd.conf $(DESTDIR)$(SYSCONFDIR)/chitchatd/chitchatd.conf

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--suppress=missingIncludeSystem --inline-suppr -D__GNUC__ -Icommon \
		common ctl daemon

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
