# FlexTOE top-level build: `make`, `make test`, `make bench`, `make install`.
#
# Everything lands in $(BUILD): bin/, lib/, xdp-progs/, tests/, obj/.
# Sources are found by wildcard, so adding a .c file to a module needs no
# edit here.  `make SAN=1` builds the same tree with ASan+UBSan into
# build/san (used by `make test`).

BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= gcc
CLANG    ?= clang
SAN      ?= 0

ifeq ($(SAN),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

PKGS      := libbpf libxdp json-c libpcap
CPPFLAGS  += -I. -Iinclude -D_GNU_SOURCE
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -fPIC -MMD -MP $(SANFLAGS) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS   += $(SANFLAGS)
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lpthread -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Werror -Iinclude -I$(BUILD)/include \
              -I/usr/include/$(shell $(CC) -dumpmachine)   # asm/types.h for linux/*.h

OBJ := $(BUILD)/obj
obj = $(patsubst %.c,$(OBJ)/%.o,$(1))

# ---- modules -----------------------------------------------------------
UTIL_SRCS := $(wildcard lib/util/*.c)
EBPF_SRCS := $(wildcard ebpf/*.c)
# core/ and core/control/ are target independent; core/x86 and core/nfp
# are backends built separately.
CORE_SRCS := $(wildcard core/*.c core/control/*.c)
CLI_SRCS  := $(wildcard loader/bpf-cli/*.c)
CONF_SRCS := $(wildcard ebpf/tools/conformance/*.c)
UNIT_SRCS := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
BENCH_SRCS := $(wildcard bench/*.c)

LIB_UTIL := $(BUILD)/lib/libftoe_util.a
LIB_EBPF := $(BUILD)/lib/libftoe_ebpf.a
LIB_CORE := $(BUILD)/lib/libftoe_core.a

BINS := $(BUILD)/bin/flextoe-bpf $(BUILD)/bin/flextoe-bpf-conformance
XDP_PROGS  := $(patsubst xdp-progs/%.bpf.c,$(BUILD)/xdp-progs/%.bpf.o,$(wildcard xdp-progs/*.bpf.c))
TEST_PROGS := $(patsubst tests/progs/%.bpf.c,$(BUILD)/tests/progs/%.bpf.o,$(wildcard tests/progs/*.bpf.c))
UNIT_BIN   := $(BUILD)/tests/unit-tests
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
# tests/diff/*.c: one tool per file, linked with the runtime.
DIFF_SRCS  := $(wildcard tests/diff/*.c)
DIFF_BINS  := $(patsubst tests/diff/%.c,$(BUILD)/tests/diff/%,$(DIFF_SRCS))

.PHONY: all test bench install clean deps fuzz san san-unit
all: $(BINS) $(XDP_PROGS) $(TEST_PROGS) $(UNIT_BIN) $(BENCH_BINS) $(DIFF_BINS)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_UTIL): $(call obj,$(UTIL_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(LIB_EBPF): $(call obj,$(EBPF_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(LIB_CORE): $(call obj,$(CORE_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/bin/flextoe-bpf: $(call obj,$(CLI_SRCS)) $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/flextoe-bpf-conformance: $(call obj,$(CONF_SRCS)) $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT_BIN): $(call obj,$(UNIT_SRCS)) $(LIB_CORE) $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/bench/%: $(OBJ)/bench/%.o $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/diff/%: $(OBJ)/tests/diff/%.o $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/xdp-progs/%.bpf.o: xdp-progs/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(BUILD)/tests/progs/%.bpf.o: tests/progs/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<

# ---- fuzzing (clang + libFuzzer) ---------------------------------------
# The library sources are compiled once with coverage and sanitizers
# (build/fuzz/obj), then linked into each target.
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_SRCS := $(UTIL_SRCS) $(EBPF_SRCS) $(CORE_SRCS)
FUZZ_CFLAGS := $(CPPFLAGS) -std=gnu11 -O1 -g -Wall -Wextra -Werror -MMD -MP \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_OBJS := $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
fuzz: $(FUZZ_BINS)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

# ---- top-level verbs -----------------------------------------------------
deps:
	@scripts/deps.sh

# The sanitizer build of the unit tests; BUILD becomes build/san inside.
san:
	$(MAKE) SAN=1 san-unit
san-unit: $(UNIT_BIN)

test:
	@scripts/deps.sh
	$(MAKE) -j2 all
	$(MAKE) -j2 san
	$(MAKE) -j2 fuzz
	@tests/run-all.sh

bench:
	@scripts/deps.sh
	$(MAKE) all
	@bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/flextoe/xdp-progs $(DESTDIR)$(PREFIX)/include/flextoe
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	$(if $(XDP_PROGS),install -m 644 $(XDP_PROGS) $(DESTDIR)$(PREFIX)/lib/flextoe/xdp-progs/)
	install -m 644 include/flextoe/*.h $(DESTDIR)$(PREFIX)/include/flextoe/

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj build/fuzz/obj -name '*.d' 2>/dev/null)
