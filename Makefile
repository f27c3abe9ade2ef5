# synq — GNU Make build. `make` builds build/libsynq.a, build/libsynq.so and build/synq.
#   make run      build, then run the main job
#   make test     build and run every test twice: plain and under ASan+UBSan
#   make bench    engine benchmarks (bench: NAME VALUE UNIT lines)
#   make fuzz     clang libFuzzer targets, bounded time per target (FUZZ_SECONDS)
#   make install  PREFIX=/usr/local DESTDIR=
.SUFFIXES:
.DELETE_ON_ERROR:

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
BUILD ?= build
SAN ?= 0
FUZZ_SECONDS ?= 20
VERSION := $(shell sed -n 's/^\#define SYNQ_VERSION "\(.*\)"/\1/p' include/synq.h)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -g $(WARN) -Iinclude -Isrc -fPIC -MMD -MP
SANITIZE := -fsanitize=address,undefined
ifeq ($(SAN),1)
OPT := -O1 $(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_LDFLAGS := $(SANITIZE)
else
OPT := -O2
SAN_LDFLAGS :=
endif
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
ALL_LDFLAGS := $(SAN_LDFLAGS) $(LDFLAGS)

CORE_SRCS := $(sort $(wildcard src/core/*.c))
DRV_SRCS := $(sort $(wildcard src/drivers/*.c))
TOOL_SRCS := $(sort $(wildcard tools/synq/*.c))
TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c tests/state/test_*.c tests/scenario/test_*.c tests/lab/test_*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))

CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
DRV_OBJS := $(DRV_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)

.PHONY: all lib run test tests check-plain check-asan bench fuzz install uninstall clean deps format

all: $(BUILD)/libsynq.a $(BUILD)/libsynq.so $(BUILD)/synq $(BUILD)/synq.pc $(if $(filter 1,$(SAN)),,$(BUILD)/libsynq-packetdrill.so)

lib: $(BUILD)/libsynq.a

deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(if $(filter tests/%,$<),-Wno-override-init -Itests/lib) -c $< -o $@

$(BUILD)/libsynq.a: $(CORE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libsynq.so: $(CORE_OBJS) src/core/libsynq.map
	$(CC) -shared -Wl,-soname,libsynq.so.0 -Wl,--version-script=src/core/libsynq.map $(ALL_LDFLAGS) -o $@ $(CORE_OBJS)

# upstream packetdrill's --so_filename plugin (docs/drill.md); not built under ASan, whose
# runtime would have to be preloaded into packetdrill
$(BUILD)/libsynq-packetdrill.so: src/packetdrill/packetdrill_so.c src/packetdrill/packetdrill_so.h $(BUILD)/libsynq.a
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -shared -Wl,--exclude-libs,ALL $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsynq.a -pthread

$(BUILD)/libsynq_drivers.a: $(DRV_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/synq: $(TOOL_OBJS) $(BUILD)/libsynq_drivers.a $(BUILD)/libsynq.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJS) $(BUILD)/libsynq_drivers.a $(BUILD)/libsynq.a -lm

$(BUILD)/synq.pc: synq.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(BUILD)/tests/%: tests/%.c $(TESTLIB_OBJS) $(BUILD)/libsynq_drivers.a $(BUILD)/libsynq.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-override-init -Itests/lib -o $@ $< $(TESTLIB_OBJS) $(BUILD)/libsynq_drivers.a $(BUILD)/libsynq.a $(ALL_LDFLAGS) -lcmocka -lm

$(BUILD)/bench/%: bench/%.c $(BUILD)/libsynq_drivers.a $(BUILD)/libsynq.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libsynq_drivers.a $(BUILD)/libsynq.a $(ALL_LDFLAGS) -lm

tests: all $(TEST_BINS)

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/synq lab

# The whole suite, twice: plain, then ASan+UBSan. scripts/run-tests.sh prints the cmocka
# summaries and the final "N passed, N failed" line.
test: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 tests
	@scripts/run-tests.sh build build/asan

# bench/flood: a spoofed SYN flood against synq serve (TUN) and a kernel listener (veth), in
# network namespaces; it needs root and prints "# skipped: needs root" otherwise.
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS) $(BUILD)/bench/flood/synflood $(BUILD)/bench/conn/connloop
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	@SYNQ_BUILD=$(BUILD) sh bench/flood/bench_flood.sh
	@SYNQ_BUILD=$(BUILD) sh bench/conn/bench_conn.sh

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/synq.h $(DESTDIR)$(PREFIX)/include/synq.h
	install -m 644 $(BUILD)/libsynq.a $(DESTDIR)$(PREFIX)/lib/libsynq.a
	install -m 755 $(BUILD)/libsynq.so $(DESTDIR)$(PREFIX)/lib/libsynq.so.0
	ln -sf libsynq.so.0 $(DESTDIR)$(PREFIX)/lib/libsynq.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' synq.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/synq.pc
	install -m 755 $(BUILD)/synq $(DESTDIR)$(PREFIX)/bin/synq

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/synq.h $(DESTDIR)$(PREFIX)/lib/libsynq.a \
	  $(DESTDIR)$(PREFIX)/lib/libsynq.so.0 $(DESTDIR)$(PREFIX)/lib/libsynq.so \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/synq.pc $(DESTDIR)$(PREFIX)/bin/synq

format:
	clang-format -i $(CORE_SRCS) $(DRV_SRCS) $(TOOL_SRCS) include/synq.h src/core/*.h src/drivers/*.h

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
