# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# wstrace build. Quiet by default; `make V=1` shows full commands.
# Every generated file goes under $(BUILD); nothing generated is tracked.

BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PREFIX ?= /usr/local
DESTDIR ?=
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/mips.*/mips/' -e 's/riscv64/riscv/')

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
override CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Iuser -Ibpf
LDLIBS := -lbpf -lelf -lpcap -lz -lcrypto
TEST_LDLIBS := -lcmocka $(LDLIBS)

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

USER_SRC := $(wildcard user/*.c)
USER_OBJ := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRC))
LIB_OBJ := $(filter-out $(BUILD)/user/main.o,$(USER_OBJ))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BPFTEST_SRC := $(wildcard tests/bpf/test_*.c)
BPFTEST_BIN := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFTEST_SRC))
# The test kit every test links: packet builder, guard pages (header only).
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TESTLIB_SRC))
TESTLIB_HDR := $(wildcard tests/lib/*.h)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
# libFuzzer targets, built with clang, ASan and UBSan into build-fuzz/. The
# user code they may use (everything but main.c and what needs libbpf) is
# compiled once; each target links it all and drops what it does not use.
FUZZ_BUILD := build-fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_USER_SRC := $(filter-out user/main.c,$(shell grep -L -E '\#include [<"](bpf/|.*skel\.h)' $(USER_SRC)))
FUZZ_OBJ := $(patsubst user/%.c,$(FUZZ_BUILD)/user/%.o,$(FUZZ_USER_SRC))
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all $(WARN) -std=gnu11 -D_GNU_SOURCE -Iuser -Ibpf \
	-ffunction-sections -fdata-sections
FUZZ_LDLIBS := -Wl,--gc-sections -lpcap -lz -lcrypto -lm

# Debian packages: to build and run, and what the tests use as real peers and oracles.
DEB_BUILD := make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libpcap-dev \
	libssl-dev libcmocka-dev pkg-config
DEB_TEST := tcpdump tshark openssl iproute2 procps bc time python3 python3-websockets python3-yaml prometheus systemd \
	chromium libclang-rt-14-dev debootstrap systemd-container
APT := DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0

.PHONY: all test unit test-asan tests-build install clean vmlinux bench fuzz fuzz-build deps test-deps \
	test-systemd
.DELETE_ON_ERROR:
# Built by pattern rules but kept: every test (fuzz target) links them.
.SECONDARY: $(TESTLIB_OBJ) $(FUZZ_OBJ)

all: wstrace

wstrace: $(BUILD)/wstrace
	$(Q)cp $< $@

$(BUILD)/wstrace: $(USER_OBJ)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) bpf/wstrace.h | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Only the loader includes the skeleton.
$(BUILD)/user/capture.o: $(SKEL)

$(BPF_OBJ): $(BPF_SRC) $(wildcard bpf/*.h) vmlinux/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Ivmlinux -Ibpf -c $< -o $(BUILD)/wstrace.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(BUILD)/wstrace.tmp.bpf.o

$(SKEL): $(BPF_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name wstrace_bpf > $@

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(TESTLIB_HDR) | $(BUILD)/tests/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) $(TESTLIB_OBJ) $(TESTLIB_HDR) $(wildcard tests/unit/*.h) | $(BUILD)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -Itests/unit $< $(LIB_OBJ) $(TESTLIB_OBJ) $(TEST_LDLIBS) -o $@

$(BUILD)/tests/%: tests/bpf/%.c $(LIB_OBJ) $(TESTLIB_OBJ) $(TESTLIB_HDR) | $(BUILD)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -Itests/unit $< $(LIB_OBJ) $(TESTLIB_OBJ) $(TEST_LDLIBS) -o $@

$(BUILD)/tools/%: tests/tools/%.c $(LIB_OBJ) | $(BUILD)/tools
	$(call msg,TOOL,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJ) $(LDLIBS) -lpthread -o $@

$(BUILD) $(BUILD)/user $(BUILD)/tests $(BUILD)/tests/lib $(BUILD)/tools:
	$(Q)mkdir -p $@

tests-build: wstrace $(UNIT_BIN) $(BPFTEST_BIN) $(TOOL_BIN)

# Unit and golden tests only (no root needed).
unit: $(UNIT_BIN) $(BUILD)/wstrace
	$(Q)tests/run.sh --unit-only $(BUILD)

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		build-asan/wstrace $(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BIN))

# Everything: unit tests (plain and sanitized), BPF tests, a few seconds of
# each fuzz target, end-to-end tests.
test: tests-build test-asan fuzz-build
	$(Q)tests/run.sh $(BUILD) build-asan

# The unit under a real systemd alone (a Debian root booted with
# systemd-nspawn); `make test` runs it too. The first run builds that root with
# debootstrap (a few minutes on a fresh machine; cached after that).
# Exit 77 is a skip (no root or tools; under CI=true the test fails instead).
test-systemd: wstrace $(TOOL_BIN)
	$(Q)timeout 1800 env WSTRACE_BUILD=$(BUILD) bash tests/systemd/test_service_systemd.sh; \
		rc=$$?; [ $$rc -eq 77 ] || exit $$rc

$(FUZZ_BUILD)/user/%.o: user/%.c $(wildcard user/*.h) bpf/wstrace.h | $(FUZZ_BUILD)/user
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OBJ) | $(FUZZ_BUILD)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) $(FUZZ_LDLIBS) -o $@

$(FUZZ_BUILD) $(FUZZ_BUILD)/user:
	$(Q)mkdir -p $@

# Needs no BPF skeleton: the fuzzed code is all user space.
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
