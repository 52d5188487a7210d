# SPDX-License-Identifier: Apache-2.0
# vmseal: one plain Makefile. `make V=1` shows full command lines, `make SAN=1` builds with
# ASan+UBSan into build-san/.

PKG_CONFIG ?= pkg-config
PKGS := openssl libvirt libmicrohttpd jansson cunit libxml-2.0 libcurl gnutls
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

PKG_CFLAGS := $(filter-out -I/usr/include/x86_64-linux-gnu,$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -D_GNU_SOURCE -iquote .
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -fstack-protector-strong \
          -D_FORTIFY_SOURCE=2 -MMD -MP $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -lgfshare -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A := $(BUILD)/libvmseal.a

# A program is DIR/vmseal-NAME.c plus any DIR/NAME_*.c (one file per subcommand).
PROG_MAIN := $(wildcard signer/vmseal-*.c verifier/vmseal-*.c agent/vmseal-*.c api/vmseal-*.c)
PROGS := $(patsubst %.c,$(BUILD)/bin/%,$(notdir $(PROG_MAIN)))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_COMMON := $(wildcard tests/unit/common_*.c)
UNIT_COMMON_OBJ := $(UNIT_COMMON:%.c=$(BUILD)/%.o)

.PHONY: all deps check demo bench fuzz clean install install-hook unit shtest
all: $(LIB_A) $(PROGS)

$(BUILD)/%.o: %.c
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

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_COMMON_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh

unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh unit

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) examples/demo.sh

bench: all
	@BUILD=$(BUILD) bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(PROG_MAIN:%.c=$(BUILD)/%.d) $(UNIT_SRC:%.c=$(BUILD)/%.d)
-include $(wildcard $(BUILD)/*/*.d)
