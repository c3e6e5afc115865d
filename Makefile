# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# wstrace build. Quiet by default; `make V=1` shows full commands.
# Every generated file goes under $(BUILD); nothing generated is tracked.

BUILD ?= build
CC ?= cc
AR ?= ar
# CLANG compiles the BPF programs (it needs its BPF target); FUZZ_CC builds
# the libFuzzer targets, which need no BPF target.
CLANG ?= clang
FUZZ_CC ?= clang
BPFTOOL ?= bpftool
PREFIX ?= /usr/local
DESTDIR ?=
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/mips.*/mips/' -e 's/riscv64/riscv/')

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
# Includes go through these paths: "core/log.h" names another layer's
# header, a plain name one of the including file's own folder, "wstrace.h"
# the record header shared with the kernel (ARCHITECTURE.md).
override CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP -Iuser -Ibpf
# The skeleton's folder, only for what includes the skeleton.
SKEL_CFLAGS := -I$(BUILD)
# Only the loader links libbpf; everything else needs these.
BASE_LDLIBS := -lpcap -lz -lcrypto -lm
BPF_LDLIBS := -lbpf -lelf
LDLIBS := $(BPF_LDLIBS) $(BASE_LDLIBS)
TEST_LDLIBS := -lcmocka $(BASE_LDLIBS)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRC := bpf/wstrace.bpf.c
BPF_OBJ := $(BUILD)/wstrace.bpf.o
SKEL := $(BUILD)/wstrace.skel.h

# One folder per layer under user/, bottom to top; each builds into
# build/libLAYER.a. ARCHITECTURE.md says what each layer may include, and
# tests/check_layers.sh holds every build to it.
LAYERS := core sources tracking protocol session sinks service
USER_SRC := $(wildcard $(foreach l,$(LAYERS),user/$(l)/*.c))
USER_HDR := $(wildcard $(foreach l,$(LAYERS),user/$(l)/*.h))
# The loader: the sources that include libbpf, the skeleton or the
# loader's own state (capture_internal.h). They build into libcapture.a,
# linked by wstrace and the BPF tests alone.
LOADER_SRC := $(shell grep -l -E '\#include [<"](bpf/|wstrace\.skel\.h|capture_internal\.h)' $(USER_SRC))
MAIN_SRC := user/service/main.c
obj = $(patsubst user/%.c,$(1)/user/%.o,$(2))
layer_src = $(filter-out $(LOADER_SRC) $(MAIN_SRC),$(wildcard user/$(1)/*.c))
# Link order: a library before the ones it uses; libcapture.a is the loader.
LINK_ORDER := service sinks session protocol tracking capture sources core
ALL_LIBS := $(foreach l,$(LINK_ORDER),$(BUILD)/lib$(l).a)
PURE_LIBS := $(filter-out $(BUILD)/libcapture.a,$(ALL_LIBS))
CAPTURE_LIB := $(BUILD)/libcapture.a
LAYERS_OK := $(BUILD)/layers.ok

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BPFTEST_SRC := $(wildcard tests/bpf/test_*.c)
BPFTEST_BIN := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFTEST_SRC))
# The test kit every test links: packet builder, guard pages (header only).
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TESTLIB_SRC))
TEST_CFLAGS := -Itests/lib -Itests/unit
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
# libFuzzer targets, built with FUZZ_CC, ASan and UBSan into build-fuzz/:
# every layer but the loader and main.c, compiled once; each target links
# it all and drops what it does not use.
FUZZ_BUILD := build-fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
# The service files that call main.c's app_* functions stay out: no target runs them.
FUZZ_APP_SRC := user/service/summary.c user/service/loop.c user/service/attrib.c
FUZZ_OBJ := $(call obj,$(FUZZ_BUILD),$(filter-out $(FUZZ_APP_SRC),$(foreach l,$(LAYERS),$(call layer_src,$(l)))))
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP -Iuser -Ibpf \
	-ffunction-sections -fdata-sections
FUZZ_LDLIBS := -Wl,--gc-sections $(BASE_LDLIBS)

# Debian packages: to build and run, and what the tests use as real peers and oracles.
DEB_BUILD := make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libpcap-dev \
	libssl-dev libcmocka-dev pkg-config
DEB_TEST := tcpdump tshark iproute2 procps bc python3 python3-websockets python3-yaml prometheus systemd nginx-light \
	chromium libclang-rt-14-dev debootstrap systemd-container
APT := DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0

.PHONY: all test unit test-asan tests-build install clean vmlinux bench fuzz fuzz-build deps test-deps \
	test-systemd check-layers
.DELETE_ON_ERROR:
# Built by pattern rules but kept: libraries and tests link them.
.SECONDARY:

all: wstrace

wstrace: $(BUILD)/wstrace
	$(Q)cp $< $@

$(BUILD)/wstrace: $(call obj,$(BUILD),$(MAIN_SRC)) $(ALL_LIBS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/user/%.o: user/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Only the loader includes the skeleton (and needs it generated first).
$(call obj,$(BUILD),$(LOADER_SRC)): $(SKEL)
$(call obj,$(BUILD),$(LOADER_SRC)): CFLAGS += $(SKEL_CFLAGS)

define layer_lib
$(BUILD)/lib$(1).a: $(call obj,$(BUILD),$(2)) $(LAYERS_OK)
	$$(call msg,AR,$$@)
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$(filter %.o,$$^)
endef
$(foreach l,$(LAYERS),$(eval $(call layer_lib,$(l),$(call layer_src,$(l)))))
$(eval $(call layer_lib,capture,$(LOADER_SRC)))

# An upward include fails the build (and the test runner counts the check).
$(LAYERS_OK): tests/check_layers.sh ARCHITECTURE.md $(USER_SRC) $(USER_HDR)
	$(call msg,CHECK,layers)
	$(Q)mkdir -p $(@D)
	$(Q)tests/check_layers.sh
	$(Q)touch $@

check-layers:
	$(Q)tests/check_layers.sh && tests/check_layers.sh --self-test

$(BPF_OBJ): $(BPF_SRC) $(wildcard bpf/*.h) vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Ivmlinux -Ibpf -c $< -o $(BUILD)/wstrace.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(BUILD)/wstrace.tmp.bpf.o

$(SKEL): $(BPF_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name wstrace_bpf > $@

$(BUILD)/tests/lib/%.o: tests/lib/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

# Unit tests need neither libbpf nor the skeleton.
$(BUILD)/tests/%: tests/unit/%.c $(TESTLIB_OBJ) $(PURE_LIBS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $< $(TESTLIB_OBJ) $(PURE_LIBS) $(TEST_LDLIBS) -o $@

$(BUILD)/tests/%: tests/bpf/%.c $(TESTLIB_OBJ) $(ALL_LIBS) $(SKEL)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SKEL_CFLAGS) $< $(TESTLIB_OBJ) $(ALL_LIBS) \
		$(TEST_LDLIBS) $(BPF_LDLIBS) -o $@

$(BUILD)/tools/%: tests/tools/%.c
	$(call msg,TOOL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(BPF_LDLIBS) -lpthread -o $@

tests-build: wstrace $(UNIT_BIN) $(BPFTEST_BIN) $(TOOL_BIN)

# Live capture needs clang's BPF target, bpftool and libbpf; the unit tests
# do not. Without them `make unit` runs the unit tests and counts the golden
# tests (which run the wstrace binary) as skipped.
LOADER_TOOLS = $(shell command -v $(BPFTOOL) >/dev/null 2>&1 && \
	$(CLANG) -print-targets 2>/dev/null | grep -qw bpf && \
	printf '\#include <bpf/libbpf.h>\n' | $(CC) $(filter-out -MMD -MP,$(CFLAGS)) -E -x c - >/dev/null 2>&1 && echo yes)

# Unit and golden tests only (no root needed).
unit: $(UNIT_BIN)
	$(Q)if [ -n "$(LOADER_TOOLS)" ]; then $(MAKE) --no-print-directory $(BUILD)/wstrace; fi
	$(Q)$(if $(LOADER_TOOLS),,GOLDEN_SKIP="no BPF toolchain to build wstrace (clang's BPF target, bpftool, libbpf)") \
		tests/run.sh --unit-only $(BUILD)

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		build-asan/wstrace $(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BIN))

# Everything: unit tests (plain and sanitized), BPF tests, a few seconds of
# each fuzz target, end-to-end tests.
test: tests-build test-asan fuzz-build
	$(Q)tests/run.sh $(BUILD) build-asan

# The unit under a real systemd: a Debian root booted with systemd-nspawn.
# Separate from `test` because the first run builds that root with
# debootstrap (a few minutes on a fresh machine; cached after that).
# Exit 77 is a skip (no root or tools; under CI=true the test fails instead).
test-systemd: wstrace $(TOOL_BIN)
	$(Q)timeout 1800 env WSTRACE_BUILD=$(BUILD) bash tests/systemd/test_service_systemd.sh; \
		rc=$$?; [ $$rc -eq 77 ] || exit $$rc

$(FUZZ_BUILD)/user/%.o: user/%.c $(LAYERS_OK)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) $(FUZZ_LDLIBS) -o $@

# Needs no BPF skeleton, no libbpf: the fuzzed code is all user space.
fuzz-build: $(FUZZ_BIN)

# Each target FUZZ_TIME seconds (default 30), its corpus kept in build-fuzz/corpus/.
FUZZ_TIME ?= 30
fuzz: fuzz-build
	$(Q)FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh --keep $(FUZZ_TIME)

bench: tests-build
	$(Q)tests/bench/run.sh $(BUILD)

deps:
	$(APT) update
	$(APT) install --no-install-recommends $(DEB_BUILD)

test-deps: deps
	$(APT) install --no-install-recommends $(DEB_TEST)
	command -v npm >/dev/null || $(APT) install --no-install-recommends nodejs npm
	if [ -f tests/e2e/node/package-lock.json ]; then npm ci --prefix tests/e2e/node --no-audit --no-fund; fi

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

install: wstrace
	install -D -m 0755 wstrace $(DESTDIR)$(PREFIX)/sbin/wstrace
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/sbin/wstrace|$(PREFIX)/sbin/wstrace|' dist/wstrace.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/wstrace.service
	test -e $(DESTDIR)/etc/wstrace/wstrace.conf || \
		install -D -m 0644 dist/wstrace.conf $(DESTDIR)/etc/wstrace/wstrace.conf

clean:
	rm -rf build build-asan build-fuzz wstrace

# Header dependencies, written by the compiler (-MMD -MP).
-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
