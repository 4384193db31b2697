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

PKGS      := libbpf libxdp json-c libpcap libxxhash
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
# core/ and core/control/ are target independent; the backend (core/x86,
# later core/nfp beside it) and the daemon (core/daemon) are built below.
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
# tests/compat/*.c: the corpus's consumers (xdpdump's records to pcap), likewise.
COMPAT_BINS := $(patsubst tests/compat/%.c,$(BUILD)/tests/compat/%,$(wildcard tests/compat/*.c))

.PHONY: all test bench install clean deps fuzz san san-unit
all: $(BINS) $(XDP_PROGS) $(TEST_PROGS) $(UNIT_BIN) $(BENCH_BINS) $(DIFF_BINS) $(COMPAT_BINS)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_UTIL): $(call obj,$(UTIL_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^	# from scratch: no object of a removed source lingers

$(LIB_EBPF): $(call obj,$(EBPF_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^	# from scratch: no object of a removed source lingers

$(LIB_CORE): $(call obj,$(CORE_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^	# from scratch: no object of a removed source lingers

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

$(BUILD)/tests/compat/%: $(OBJ)/tests/compat/%.o $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/xdp-progs/%.bpf.o: xdp-progs/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(BUILD)/tests/progs/%.bpf.o: tests/progs/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<

# ---- shipped XDP programs' headers and the firewall rule compiler ------
# xdp-progs/*.bpf.o are rebuilt when a shared header changes.
$(XDP_PROGS): $(wildcard xdp-progs/*.h include/flextoe/*.h)
# loader/fw/: the firewall rule compiler (libftoe_fw.a, no dependency on
# the other libraries) and its CLI build/bin/flextoe-fw (fw_cli.c).
FW_LIB_SRCS := $(filter-out loader/fw/fw_cli.c,$(wildcard loader/fw/*.c))
LIB_FW := $(BUILD)/lib/libftoe_fw.a
$(LIB_FW): $(call obj,$(FW_LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^	# from scratch: no object of a removed source lingers
$(BUILD)/bin/flextoe-fw: $(call obj,loader/fw/fw_cli.c) $(LIB_FW) $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(UNIT_BIN): $(LIB_FW)
$(BUILD)/bin/flextoe-bpf: $(LIB_FW)
# bench/fw_bench.c compiles generated rule sets with the library
$(BUILD)/bench/fw_bench: $(LIB_FW)
all: $(BUILD)/bin/flextoe-fw
BINS += $(BUILD)/bin/flextoe-fw

# ---- test tools: tests/tools/NAME/*.c -> $(BUILD)/tests/tools/NAME -------
TOOL_NAMES := $(sort $(patsubst tests/tools/%/,%,$(dir $(wildcard tests/tools/*/*.c))))
# tests/tools/NAME/*.bpf.c are BPF objects for tc (clang, below), not C tools
TOOL_NAMES := $(sort $(patsubst tests/tools/%/,%,$(dir $(filter-out %.bpf.c,$(wildcard tests/tools/*/*.c)))))
TOOL_BINS  := $(patsubst %,$(BUILD)/tests/tools/%,$(TOOL_NAMES))
define TOOL_RULE
$(BUILD)/tests/tools/$(1): $(call obj,$(wildcard tests/tools/$(1)/*.c)) $(LIB_UTIL)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(TOOL_LIBS_$(1)) -lm
endef
# xdp-ring attaches programs with libbpf and writes pcap
TOOL_LIBS_xdp-ring := -lbpf -lpcap -lelf -lz
$(foreach t,$(TOOL_NAMES),$(eval $(call TOOL_RULE,$(t))))
# the engine harness also links the core (engine work)
$(BUILD)/tests/tools/tcp-harness: $(LIB_CORE)
all: $(TOOL_BINS)

# ---- the engine daemon: core/daemon/*.c + core/x86/*.c -> $(BUILD)/bin/flextoe
# core/daemon/ is the program (options, run dir, applications, control
# socket, hooks); core/x86/ the AF_XDP backend it runs the engine on.
# The steering XDP program (core/x86/steer.bpf.c) is compiled by clang and
# embedded in the binary by core/x86/steer_obj.c (.incbin), so the daemon
# needs nothing from the build tree at run time.
X86_SRCS  := $(filter-out %.bpf.c,$(wildcard core/x86/*.c))
DAEMON_SRCS := $(wildcard core/daemon/*.c)
STEER_OBJ := $(OBJ)/core/x86/flextoe_steer.bpf.o
$(STEER_OBJ): core/x86/steer.bpf.c core/x86/steer_cfg.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -I. -c -o $@ $<
$(OBJ)/core/x86/steer_obj.o: $(STEER_OBJ)
$(OBJ)/core/x86/steer_obj.o: CPPFLAGS += -DFTOE_STEER_OBJ='"$(abspath $(STEER_OBJ))"'
$(BUILD)/bin/flextoe: $(call obj,$(DAEMON_SRCS) $(X86_SRCS)) $(LIB_CORE) $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all: $(BUILD)/bin/flextoe
BINS += $(BUILD)/bin/flextoe
# The backend never calls the daemon (core/x86/README.md): no symbol the
# backend's objects need may be one that the daemon's objects define; and
# the daemon sees the backend through core/x86/x86.h only.
X86_LAYER_OK := $(OBJ)/core/x86/layering.ok
$(X86_LAYER_OK): $(call obj,$(X86_SRCS) $(DAEMON_SRCS))
	@if grep -n '#include "core/x86/' core/daemon/*.[ch] | grep -v 'core/x86/x86\.h"'; then \
		echo "core/daemon/ includes the backend's internals above: use core/x86/x86.h" >&2; \
		rm -f $@; exit 1; fi
	@nm -u $(call obj,$(X86_SRCS)) | awk 'NF == 2 { print $$2 }' | sort -u >$@.need
	@nm -g --defined-only $(call obj,$(DAEMON_SRCS)) | awk 'NF == 3 { print $$3 }' | sort -u >$@.daemon
	@if comm -12 $@.need $@.daemon | grep .; then \
		echo "core/x86/ uses the core/daemon/ symbols above: the backend must not depend on the daemon" >&2; \
		rm -f $@ $@.need $@.daemon; exit 1; fi
	@rm -f $@.need $@.daemon && touch $@
all: $(X86_LAYER_OK)

# ---- flextoe-loaderd: loader/loaderd/*.c -> $(BUILD)/bin/flextoe-loaderd --
# It verifies objects with the runtime (kernel verifier) and forwards to
# the engine's control socket (docs/loader.md).  The CLI shares its client
# side (loader/loaderd/client.c).
LOADERD_SRCS := $(wildcard loader/loaderd/*.c)
LDR_CLIENT_OBJ := $(OBJ)/loader/loaderd/client.o
$(BUILD)/bin/flextoe-loaderd: $(call obj,$(LOADERD_SRCS)) $(LIB_EBPF) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/flextoe-bpf: $(LDR_CLIENT_OBJ)
# client.o comes after the libraries in $^ and needs lib/util's jsonmsg.
$(BUILD)/bin/flextoe-bpf: LDLIBS := $(LIB_UTIL) $(LDLIBS)
all: $(BUILD)/bin/flextoe-loaderd
BINS += $(BUILD)/bin/flextoe-loaderd

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

# tests/fuzz/fuzz_posix_calls.c drives the POSIX differential test's executor
# (tests/tools/sockdiff without its main.c).
SOCKDIFF_FUZZ_OBJS := $(patsubst %.c,build/fuzz/obj/%.o,$(filter-out %/main.c,$(wildcard tests/tools/sockdiff/*.c)))
build/fuzz/fuzz_posix_calls: $(SOCKDIFF_FUZZ_OBJS)
build/fuzz/fuzz_posix_calls: FUZZ_OBJS += $(SOCKDIFF_FUZZ_OBJS)

# ---- ThreadSanitizer: the flow groups' concurrent test ----------------------
# tests/unit/core/test_flow_groups_mt.c runs two groups' protocol stages on
# two threads at once, and test_flow_gen_mt.c a payload placement racing
# its flow's reset and the slot's reuse; built here with the libraries under TSan
# (build/tsan), it fails on any data race between them (tests/unit/tsan.sh).
# (-Wno-tsan: TSan does not model atomic_thread_fence; the test takes
# its synchronisation from locks and acquire/release atomics.)
TSAN_SRCS := $(UTIL_SRCS) $(EBPF_SRCS) $(CORE_SRCS) tests/unit/runner.c \
	tests/unit/core/test_flow_groups_mt.c tests/unit/core/fg_streams.c \
	tests/unit/core/test_flow_gen_mt.c \
	tests/unit/core/engine_link.c tests/unit/core/engine_app.c
TSAN_OBJS := $(patsubst %.c,build/tsan/obj/%.o,$(TSAN_SRCS))
TSAN_CFLAGS := $(CPPFLAGS) -std=gnu11 -O2 -g -Wall -Wextra -Werror -MMD -MP -fsanitize=thread -Wno-tsan \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
.PHONY: tsan-fg
tsan-fg: build/tsan/tests/fg-mt
build/tsan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TSAN_CFLAGS) -c -o $@ $<
build/tsan/tests/fg-mt: $(TSAN_OBJS)
	@mkdir -p $(@D)
	$(CC) -fsanitize=thread -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# ---- top-level verbs -----------------------------------------------------
deps:
	@scripts/deps.sh

# The sanitizer build of the unit tests; BUILD becomes build/san inside.
# The whole tree with ASan+UBSan (build/san): the unit tests, and the
# daemons, tools and examples that tests/run-all.sh runs a set of
# integration tests with.
san:
	$(MAKE) SAN=1 all
san-unit: $(UNIT_BIN)

test:
	@scripts/deps.sh
	$(MAKE) -j2 all
	$(MAKE) -j2 san
	$(MAKE) -j2 fuzz
	$(MAKE) -j2 tsan-fg
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

-include $(shell find $(BUILD)/obj build/fuzz/obj build/tsan/obj -name '*.d' 2>/dev/null)

# ---- libflextoe (lib/libflextoe) and its examples (examples/echo, bulk) ---
# The library and the engine share the context contract, include/flextoe/appif.h;
# examples link the library statically.
LIBFT_SRCS := $(wildcard lib/libflextoe/*.c)
LIBFT_A    := $(BUILD)/lib/libflextoe.a
LIBFT_SO   := $(BUILD)/lib/libflextoe.so
$(LIBFT_A): $(call obj,$(LIBFT_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^	# from scratch: no object of a removed source lingers
$(LIBFT_SO): $(call obj,$(LIBFT_SRCS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libflextoe.so.0 -o $@ $^
EXAMPLE_APPS := echo bulk
EXAMPLE_APPS += splice-proxy
define EXAMPLE_RULE
$(BUILD)/bin/flextoe-$(1): $(call obj,$(wildcard examples/$(1)/*.c)) $(LIBFT_A) $(LIB_UTIL)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^
endef
$(foreach a,$(EXAMPLE_APPS),$(eval $(call EXAMPLE_RULE,$(a))))
all: $(LIBFT_A) $(LIBFT_SO) $(patsubst %,$(BUILD)/bin/flextoe-%,$(EXAMPLE_APPS))

# ---- bench/engine_cg: the engine's receive path under callgrind ---------
# Links the core and the in-memory engine pair of the unit tests; the
# libraries are repeated after the objects (the core needs ebpf and util).
ENGINE_CG_OBJS := $(OBJ)/tests/unit/core/engine_link.o
$(BUILD)/bench/engine_cg: $(ENGINE_CG_OBJS) $(LIB_CORE)
$(BUILD)/bench/engine_cg: LDLIBS := $(LIB_CORE) $(LIB_EBPF) $(LIB_UTIL) $(LDLIBS)

# ---- flextoe-fw apply/stats talk to flextoe-loaderd (loader/fw/fw_engine.c) --
$(BUILD)/bin/flextoe-fw: $(LDR_CLIENT_OBJ)
$(BUILD)/bin/flextoe-fw: LDLIBS := $(LIB_UTIL) $(LDLIBS)

# ---- tests/tools/NAME/*.bpf.c -> $(BUILD)/tests/tools/NAME/*.bpf.o (tc programs) --
TOOL_BPF := $(patsubst tests/tools/%.bpf.c,$(BUILD)/tests/tools/%.bpf.o,$(wildcard tests/tools/*/*.bpf.c))
$(BUILD)/tests/tools/%.bpf.o: tests/tools/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<
all: $(TOOL_BPF)
# tests/tools/classify-app is an application: it links libflextoe
$(BUILD)/tests/tools/classify-app: $(LIBFT_A)
# tests/tools/close-exit too
$(BUILD)/tests/tools/close-exit: $(LIBFT_A)
# tests/tools/appif-probe too (it also calls libflextoe's internals)
$(BUILD)/tests/tools/appif-probe: $(LIBFT_A)
# tests/tools/xsk-reader too (raw-frame sockets)
$(BUILD)/tests/tools/xsk-reader: $(LIBFT_A)

# ---- libflextoe-posix (lib/posix) and flextoe-run (lib/posix/run) --------
# The LD_PRELOAD library: only the interposed names are exported
# (interpose.c); the unit tests link the other objects directly.  It shares
# the context handshake with libflextoe (lib/libflextoe/appif_client.c).
POSIX_SRCS     := $(wildcard lib/posix/*.c)
POSIX_UNIT_OBJS := $(call obj,$(filter-out lib/posix/interpose.c,$(POSIX_SRCS)) \
                   lib/libflextoe/appif_client.c)
POSIX_SO       := $(BUILD)/lib/libflextoe-posix.so
$(call obj,$(POSIX_SRCS)): CFLAGS += -fvisibility=hidden
$(POSIX_SO): $(call obj,$(POSIX_SRCS) lib/libflextoe/appif_client.c)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libflextoe-posix.so -o $@ $^ -ldl -lpthread
# flextoe-run finds the library beside it (../lib) or under PREFIX; the
# ASan build preloads the ASan runtime first.
$(OBJ)/lib/posix/run/main.o: CPPFLAGS += -DFTOE_PREFIX='"$(PREFIX)"' \
	$(if $(filter 1,$(SAN)),-DFTOE_LIBASAN='"$(shell $(CC) -print-file-name=libasan.so)"')
$(BUILD)/bin/flextoe-run: $(call obj,$(wildcard lib/posix/run/*.c))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
$(UNIT_BIN): $(POSIX_UNIT_OBJS)
all: $(POSIX_SO) $(BUILD)/bin/flextoe-run
BINS += $(BUILD)/bin/flextoe-run
.PHONY: install-posix
install: install-posix
install-posix: all
	install -d $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(POSIX_SO) $(DESTDIR)$(PREFIX)/lib/

# ---- the NFP firmware target (core/nfp, a MODEL: docs/nfp.md) -----------
# The stage code and the NFP glue built freestanding: no libc headers (only
# the compiler's stdint/stddef/stdbool and the shims in core/nfp/include),
# no floating point (-mgeneral-regs-only), a call graph per object for the
# recursion check.  `make nfp-check` checks the image (core/nfp/nfp_check.py).
# The simulator (core/nfp/sim) links these same objects, so what it runs
# is this build.
NFP_CORE_SRCS := $(addprefix core/,preproc.c protocol.c postproc.c tx.c sched.c segment.c \
                  csum.c ooo.c loss_tx.c reorder.c flow_table.c siphash.c vlan.c md_snapshot.c rto.c)
NFP_FW_SRCS   := $(wildcard core/nfp/*.c)
NFP_OBJ       := $(BUILD)/nfp/obj
NFP_OBJS      := $(patsubst %.c,$(NFP_OBJ)/%.o,$(NFP_CORE_SRCS) $(NFP_FW_SRCS))
NFP_CFLAGS    := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -MMD -MP \
                 -ffreestanding -nostdlib -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
                 -Icore/nfp/include -I. -Iinclude -mgeneral-regs-only -fno-stack-protector \
                 -fcallgraph-info=su
$(NFP_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(NFP_CFLAGS) -c -o $@ $<
.PHONY: nfp-check
nfp-check: $(NFP_OBJS)
	python3 core/nfp/nfp_check.py --allow core/nfp/allow.txt $(NFP_OBJS)
-include $(shell find $(NFP_OBJ) -name '*.d' 2>/dev/null)

# ---- build/bin/flextoe-nfpsim: the NFP-4000 simulator (core/nfp/sim) ----
# It links the freestanding NFP objects above first, so the stage code it
# runs is that build; the rest of the core (engine, control plane, socket
# API: the host's side) and the in-memory peer of the unit tests after.
NFPSIM_SRCS := $(wildcard core/nfp/sim/*.c)
$(BUILD)/bin/flextoe-nfpsim: $(call obj,$(NFPSIM_SRCS)) $(NFP_OBJS) $(OBJ)/tests/unit/core/engine_link.o \
		$(LIB_CORE) $(LIB_FW) $(LIB_EBPF) $(LIB_UTIL) $(XDP_PROGS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(call obj,$(NFPSIM_SRCS)) $(NFP_OBJS) $(OBJ)/tests/unit/core/engine_link.o \
		$(LIB_CORE) $(LIB_FW) $(LIB_EBPF) $(LIB_UTIL) $(LDLIBS)
all: $(BUILD)/bin/flextoe-nfpsim

# ---- flextoe-stat: loader/stat/*.c -> $(BUILD)/bin/flextoe-stat --------------
# ss- and nstat-like views of a running engine through flextoe-loaderd
# (docs/operating.md); it shares the loader's client (loader/loaderd/client.c).
STAT_SRCS := $(wildcard loader/stat/*.c)
$(BUILD)/bin/flextoe-stat: $(call obj,$(STAT_SRCS)) $(LDR_CLIENT_OBJ) $(LIB_UTIL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all: $(BUILD)/bin/flextoe-stat
BINS += $(BUILD)/bin/flextoe-stat

# ---- the daemon's readiness notification (systemd Type=notify, libsystemd) ----
$(BUILD)/bin/flextoe: LDLIBS += $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)

# ---- operating it as a service: unit, configuration example, man pages,
# bash completion (docs/operating.md).  The unit names the installed
# binaries and configuration directory, so it is rendered here.
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_PAGES := $(wildcard docs/man/*.[0-9])
$(BUILD)/flextoe@.service: scripts/systemd/flextoe@.service.in
	@mkdir -p $(@D)
	sed -e 's|@SBINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@
.PHONY: install-ops
install: install-ops
install-ops: $(BUILD)/flextoe@.service
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/flextoe $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 $(BUILD)/flextoe@.service $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 644 scripts/systemd/flextoe.conf.example $(DESTDIR)$(SYSCONFDIR)/flextoe/
	for p in $(MAN_PAGES); do s=$${p##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$p $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	install -m 644 scripts/completion/flextoe-bpf $(DESTDIR)$(BASHCOMPDIR)/flextoe-bpf
	ln -sf flextoe-bpf $(DESTDIR)$(BASHCOMPDIR)/flextoe-stat
# libflextoe for applications built against it: the shared library (soname
# libflextoe.so.0) and the static one; the headers go with include/flextoe.
.PHONY: install-libflextoe
install: install-libflextoe
install-libflextoe: $(LIBFT_SO) $(LIBFT_A)
	install -d $(DESTDIR)$(PREFIX)/lib
	install -m 644 $(LIBFT_SO) $(DESTDIR)$(PREFIX)/lib/libflextoe.so.0
	ln -sf libflextoe.so.0 $(DESTDIR)$(PREFIX)/lib/libflextoe.so
	install -m 644 $(LIBFT_A) $(DESTDIR)$(PREFIX)/lib/
