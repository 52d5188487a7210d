# SPDX-License-Identifier: Apache-2.0
# vmseal: one plain Makefile. `make V=1` shows full command lines, `make SAN=1` builds with
# ASan+UBSan into build-san/.

PKG_CONFIG ?= pkg-config
PKGS := openssl libvirt libmicrohttpd jansson cunit libxml-2.0 libcurl gnutls hiredis
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin

CC ?= cc
CFLAGS ?= -O2 -g
ifeq ($(SAN),1)
BUILD := build-san
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD := build
endif

# The version has one home, debian/changelog's first line: lib/cli.c prints it for every program
# (cli_version), the man pages' headers carry it.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
ifeq ($(VERSION),)
$(error cannot read the version from debian/changelog)
endif

PKG_CFLAGS := $(filter-out -I/usr/include/x86_64-linux-gnu,$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -D_GNU_SOURCE -iquote . -DVMSEAL_VERSION='"$(VERSION)"'
# -fPIC: the hook's judge is a shared object built from the same objects as the programs
# (which stay PIE executables).
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-format-truncation -fstack-protector-strong \
          -D_FORTIFY_SOURCE=2 -fPIC -MMD -MP $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -lgfshare -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A := $(BUILD)/libvmseal.a

# A program is DIR/vmseal-NAME.c plus any DIR/NAME_*.c (one file per subcommand). The hook is
# the exception (its own rules below): a first stage and its judge.
HOOK_FRONT := agent/vmseal-hook.c
PROG_MAIN := $(filter-out $(HOOK_FRONT),$(wildcard signer/vmseal-*.c verifier/vmseal-*.c agent/vmseal-*.c api/vmseal-*.c))
PROGS := $(patsubst %.c,$(BUILD)/bin/%,$(notdir $(PROG_MAIN))) $(BUILD)/bin/vmseal-hook

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_COMMON := $(wildcard tests/unit/common_*.c)
UNIT_COMMON_OBJ := $(UNIT_COMMON:%.c=$(BUILD)/%.o)

.PHONY: all deps check demo bench fuzz clean install install-hook unit shtest
all: $(LIB_A) $(PROGS)

# Every object depends on this stamp: a flag that every object must get (-fPIC, for the hook's
# judge) comes with a new stamp name, so that a build directory made before it is rebuilt
# rather than linked from objects compiled without it.
OBJ_STAMP := $(BUILD)/.objects-fpic
$(OBJ_STAMP):
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/%.o: %.c $(OBJ_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

define PROG_template
$(BUILD)/bin/$(1): $(BUILD)/$(2)/$(1).o $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(2)/$(1:vmseal-%=%)_*.c)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach m,$(PROG_MAIN),$(eval $(call PROG_template,$(basename $(notdir $(m))),$(patsubst %/,%,$(dir $(m))))))

# ---- test build: the same sources with -DVMSEAL_TEST_BUILD ----------------------------------
# Release binaries ($(BUILD)/bin, what `make install` and the .deb ship) hold no switch that moves
# time, skips a check or injects a fault. Only this build has the fault points (VMSEAL_FAULT) and
# the entropy simulation (VMSEAL_TEST_NO_ENTROPY): $(BUILD)/testbin/ for the shell tests that
# need them (tests/sh/lib.sh: $$TESTBIN), $(BUILD)/testbuild/libvmseal.a for the unit tests.
# Tests move time with libfaketime, in both builds.
TEST_BUILD := $(BUILD)/testbuild
TEST_LIB_OBJ := $(LIB_SRC:%.c=$(TEST_BUILD)/%.o)
TEST_LIB_A := $(TEST_BUILD)/libvmseal.a
TESTBINS := $(patsubst %.c,$(BUILD)/testbin/%,$(notdir $(PROG_MAIN))) $(BUILD)/testbin/vmseal-hook
all: $(TESTBINS)

$(TEST_BUILD)/%.o: %.c $(OBJ_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-TEST $<")
	$(Q)$(CC) $(CPPFLAGS) -DVMSEAL_TEST_BUILD $(CFLAGS) -c -o $@ $<

$(TEST_LIB_A): $(TEST_LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

define TESTPROG_template
$(BUILD)/testbin/$(1): $(TEST_BUILD)/$(2)/$(1).o $(patsubst %.c,$(TEST_BUILD)/%.o,$(wildcard $(2)/$(1:vmseal-%=%)_*.c)) $(TEST_LIB_A)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach m,$(PROG_MAIN),$(eval $(call TESTPROG_template,$(basename $(notdir $(m))),$(patsubst %/,%,$(dir $(m))))))
-include $(wildcard $(TEST_BUILD)/*/*.d)
$(BUILD)/tests/unit/%.o: CPPFLAGS += -DVMSEAL_TEST_BUILD
# ---- end test build ---------------------------------------------------------------------------

# ---- the hook: a first stage and its judge (issue #18 item 3) ---------------------------------
# libvirt runs the hook at every step of a domain's life and waits for it. vmseal-hook, the
# program libvirt runs, is agent/vmseal-hook.c with lib/hookop.c and libc alone: it exits 0 at
# once for an operation it does not judge, and loads the judge (agent/hook_judge.c, a shared
# object linked with everything, exporting its entry point alone) for the rest: one exec per
# call, not two. The judge's absolute path is compiled into the first stage:
# the build tree's own judge for $(BUILD)/bin and $(BUILD)/testbin, $(LIBEXECDIR)/vmseal for
# `make install` (which compiles its first stage afresh, so PREFIX given then counts).
# The judge server (`vmseal-hook --serve`, agent/hook_serve.c, part of the judge): when it
# listens on the socket compiled into the first stage, judged calls go there and skip loading
# the judge. $(BUILD)/bin's first stage looks in $(BUILD)/run (tests/sh/hook_serve.sh, bench/hook.sh),
# the installed one in $(RUNDIR)/vmseal (the .deb's vmseal-hook.service); the test build's
# looks nowhere (its calls keep the process's own time, for libfaketime).
LIBEXECDIR ?= $(PREFIX)/libexec
RUNDIR ?= /run
HOOK_SOCKET := $(RUNDIR)/vmseal/hook.sock
HOOK_JUDGE := $(BUILD)/libexec/vmseal-hook-judge.so
TEST_HOOK_JUDGE := $(BUILD)/testlibexec/vmseal-hook-judge.so
HOOK_JUDGE_LDFLAGS = -shared -Wl,-z,now -Wl,--version-script=agent/hook_judge.map
HOOK_FRONT_CFLAGS = $(filter-out -MMD -MP $(PKG_CFLAGS),$(CFLAGS))
# hook_front OUT JUDGE [SOCKET]: compiles and links the first stage OUT that loads JUDGE (or
# hands the call to the judge server on SOCKET).
hook_front = $(CC) $(CPPFLAGS) $(HOOK_FRONT_CFLAGS) -DVMSEAL_HOOK_JUDGE='"$(2)"' \
	$(if $(3),-DVMSEAL_HOOK_SOCKET='"$(3)"') $(LDFLAGS) -o $(1) $(HOOK_FRONT) lib/hookop.c

$(HOOK_JUDGE): $(BUILD)/agent/hook_judge.o $(BUILD)/agent/hook_serve.o $(LIB_A) agent/hook_judge.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(HOOK_JUDGE_LDFLAGS) -o $@ $(filter-out %.map,$^) $(LDLIBS)

$(TEST_HOOK_JUDGE): $(TEST_BUILD)/agent/hook_judge.o $(TEST_BUILD)/agent/hook_serve.o $(TEST_LIB_A) agent/hook_judge.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(HOOK_JUDGE_LDFLAGS) -o $@ $(filter-out %.map,$^) $(LDLIBS)

$(BUILD)/bin/vmseal-hook: $(HOOK_FRONT) lib/hookop.c lib/hookop.h $(HOOK_JUDGE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(call hook_front,$@,$(abspath $(HOOK_JUDGE)),$(abspath $(BUILD))/run/hook.sock)

$(BUILD)/testbin/vmseal-hook: $(HOOK_FRONT) lib/hookop.c lib/hookop.h $(TEST_HOOK_JUDGE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(call hook_front,$@,$(abspath $(TEST_HOOK_JUDGE)))
# ---- end hook ----------------------------------------------------------------------------------

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_COMMON_OBJ) $(TEST_LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- fuzzing (hardening): tests/fuzz/fuzz_NAME.c, corpus tests/fuzz/corpus/NAME/ -------------
# `make fuzz FUZZ_SECONDS=N` builds every target with clang + libFuzzer + ASan/UBSan into
# build-fuzz/ and runs each for N seconds (`make -j2 -k fuzz` runs two at a time and keeps going
# after a crash). New inputs go to build-fuzz/corpus/NAME/, crashes to build-fuzz/artifacts/NAME/,
# logs to build-fuzz/logs/NAME.log; the repository's seed corpus is only read.
# `make all` also links each target with tests/fuzz/replay.c (the normal compiler, ASan with
# SAN=1) into $(BUILD)/fuzz/replay_NAME; tests/sh/fuzz_replay.sh replays the corpora in `make check`.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_OPTS ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_DIR := build-fuzz
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -std=gnu11 -Wall -Wextra -Werror \
	-D_GNU_SOURCE -iquote . -DVMSEAL_VERSION='"$(VERSION)"' -MMD -MP $(PKG_CFLAGS)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)

all: $(FUZZ_REPLAY)

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FUZZ_DIR)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(LDLIBS)

.PHONY: fuzz fuzz-build fuzz-clean
.SECONDARY: $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/fuzz_%.o) $(BUILD)/tests/fuzz/replay.o \
	$(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%) $(FUZZ_LIB_OBJ)
fuzz-build: $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)

fuzz: $(FUZZ_NAMES:%=fuzz-run-%)

# Not .PHONY (pattern rules cannot be); no file of that name is ever made.
fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/artifacts/$* $(FUZZ_DIR)/logs
	@echo "  FUZZ    $* for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/logs/$*.log)"
	$(Q)./$< -max_total_time=$(FUZZ_SECONDS) $(FUZZ_OPTS) \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/$*/ $(FUZZ_DIR)/corpus/$* tests/fuzz/corpus/$* \
		>$(FUZZ_DIR)/logs/$*.log 2>&1 || { tail -40 $(FUZZ_DIR)/logs/$*.log; exit 1; }
	@grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' $(FUZZ_DIR)/logs/$*.log | tail -2

fuzz-clean:
	rm -rf $(FUZZ_DIR)
clean: fuzz-clean

-include $(wildcard $(BUILD)/tests/fuzz/*.d $(FUZZ_DIR)/lib/*.d $(FUZZ_DIR)/*.d)
# ---- end fuzzing (hardening) -----------------------------------------------------------------

deps:
	@scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory all man $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh

unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh unit

# One-line mutants of lib/'s decision points, each of which the tests it names must catch
# (tests/mutate/mutants.txt). Builds once per mutant in a scratch copy: not part of check.
.PHONY: mutate unit-bins
unit-bins: $(UNIT_BINS)
mutate:
	@tests/mutate/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) examples/demo.sh

bench: all
	@BUILD=$(BUILD) bench/run.sh

# ---- packaging: man pages, make install, make deb ---------------------------------------------
# man/NAME.N.scd (scdoc) -> $(BUILD)/man/NAME.N. `make install PREFIX=/usr DESTDIR=/tmp/root`
# installs binaries, man pages, bash completion and the example policy; it never touches
# /etc/vmseal/policy.json. The hook is installed by `make install-hook` or the .deb.
MANDIR ?= $(PREFIX)/share/man
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR ?= $(PREFIX)/share/doc/vmseal
SCDOC ?= scdoc
MAN_SRC := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(BUILD)/man/%,$(MAN_SRC))
PROG_NAMES := $(notdir $(PROGS))

.PHONY: man deb programs
man: $(MAN_PAGES)
programs: $(PROGS)

$(BUILD)/man/%: man/%.scd debian/changelog
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCDOC   $<")
	$(Q)sed 's/@VERSION@/$(VERSION)/g' $< | $(SCDOC) >$@.tmp && mv $@.tmp $@

$(BUILD)/lib/cli.o $(BUILD)/testbuild/lib/cli.o $(FUZZ_DIR)/lib/cli.o: debian/changelog

install: programs man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(COMPDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(LIBEXECDIR)/vmseal
	install -m 0755 $(filter-out $(BUILD)/bin/vmseal-hook,$(PROGS)) $(DESTDIR)$(BINDIR)
	@mkdir -p $(BUILD)/install
	$(call hook_front,$(BUILD)/install/vmseal-hook,$(LIBEXECDIR)/vmseal/vmseal-hook-judge.so,$(HOOK_SOCKET))
	install -m 0755 $(BUILD)/install/vmseal-hook $(DESTDIR)$(BINDIR)/vmseal-hook
	install -m 0644 $(HOOK_JUDGE) $(DESTDIR)$(LIBEXECDIR)/vmseal/vmseal-hook-judge.so
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8
	install -m 0644 completion/vmseal $(DESTDIR)$(COMPDIR)/vmseal
	for p in $(PROG_NAMES); do ln -sf vmseal $(DESTDIR)$(COMPDIR)/$$p; done
	install -m 0644 examples/policy.json $(DESTDIR)$(DOCDIR)/examples/policy.json
	install -m 0644 examples/openssl-pkcs11.cnf $(DESTDIR)$(DOCDIR)/examples/openssl-pkcs11.cnf

# The .deb is built from a copy of the tree outside it (dpkg-buildpackage writes ../); the
# package lands in $(BUILD)/deb/. Missing build tools are installed when run as root.
DEB_TOOLS := debhelper dpkg-dev fakeroot lintian scdoc
deb:
	@VMSEAL_EXTRA_PKGS="$(DEB_TOOLS)" scripts/deps.sh
	@BUILD=$(BUILD) scripts/build-deb.sh
# ---- end packaging -----------------------------------------------------------------------------

# --- install-hook (agent/vmseal-hook as libvirt's qemu hook; owner: hook) ---------------------
# Installs the hook, creates /etc/vmseal, /var/cache/vmseal and /var/log/vmseal (0700); never
# writes or overwrites a policy. libvirtd reads its hooks directory only when it starts.
HOOK_DIR ?= /etc/libvirt/hooks/qemu.d
HOOK_OWNER := $(if $(filter 0,$(shell id -u)),-o root -g root)
install-hook: $(BUILD)/bin/vmseal-hook
	install -d -m 0755 $(DESTDIR)$(HOOK_DIR) $(DESTDIR)$(LIBEXECDIR)/vmseal
	install -m 0644 $(HOOK_OWNER) $(HOOK_JUDGE) $(DESTDIR)$(LIBEXECDIR)/vmseal/vmseal-hook-judge.so
	@mkdir -p $(BUILD)/install
	$(call hook_front,$(BUILD)/install/vmseal-hook,$(LIBEXECDIR)/vmseal/vmseal-hook-judge.so,$(HOOK_SOCKET))
	install -m 0755 $(HOOK_OWNER) $(BUILD)/install/vmseal-hook $(DESTDIR)$(HOOK_DIR)/vmseal
	install -d -m 0755 $(DESTDIR)/etc/vmseal
	install -d -m 0700 $(DESTDIR)/var/cache/vmseal $(DESTDIR)/var/log/vmseal
	install -d -m 0755 $(DESTDIR)/var/lib/vmseal
	@[ -e $(DESTDIR)/etc/vmseal/policy.json ] || \
		echo "note: no /etc/vmseal/policy.json yet: every domain start is refused until you install one"
	@echo "note: restart libvirtd so that it sees the new hook"
# --- end install-hook ------------------------------------------------------------------------

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(PROG_MAIN:%.c=$(BUILD)/%.d) $(UNIT_SRC:%.c=$(BUILD)/%.d)
-include $(wildcard $(BUILD)/*/*.d)
