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
SBINDIR ?= $(PREFIX)/sbin
# The system unit directory. Debian 12 packages use /lib/systemd/system
# (debian/rules says so); a local install goes under PREFIX.
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
# The one place the version is written: the binary (--version, build_info)
# and the Debian package (debian/changelog, checked by `make deb`) read it.
WSTRACE_VERSION := $(shell cat VERSION)
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/mips.*/mips/' -e 's/riscv64/riscv/')

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
# Includes go through these paths: "core/log.h" names another layer's
# header, a plain name one of the including file's own folder, "wstrace.h"
# the record header shared with the kernel (ARCHITECTURE.md).
override CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP -Iuser -Ibpf \
	-DWSTRACE_VERSION='"$(WSTRACE_VERSION)"'
# The skeleton's folder, only for what includes the skeleton.
SKEL_CFLAGS := -I$(BUILD)
# Only the loader links libbpf; everything else needs these.
# libmicrohttpd and GnuTLS serve /metrics, libyaml and libcrypt read its web config.
BASE_LDLIBS := -lpcap -lz -lnettle -lmicrohttpd -lgnutls -lyaml -lcrypt -lpthread -lm
# Only the program itself draws on a terminal (--top).
CURSES_LDLIBS := -lncursesw
BPF_LDLIBS := -lbpf -lelf
LDLIBS := $(BPF_LDLIBS) $(BASE_LDLIBS) $(CURSES_LDLIBS)
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
# The TLS plaintext programs (uprobes): a second object, loaded unless --no-tls.
TLS_BPF_OBJ := $(BUILD)/tls.bpf.o
SKEL := $(BUILD)/wstrace.skel.h $(BUILD)/tls.skel.h

# One folder per layer under user/, bottom to top; each builds into
# build/libLAYER.a. ARCHITECTURE.md says what each layer may include, and
# tests/check_layers.sh holds every build to it.
LAYERS := core sources tracking protocol session sinks service
USER_SRC := $(wildcard $(foreach l,$(LAYERS),user/$(l)/*.c))
USER_HDR := $(wildcard $(foreach l,$(LAYERS),user/$(l)/*.h))
# The loader: the sources that include libbpf, the skeleton or the
# loader's own state (capture_internal.h). They build into libcapture.a,
# linked by wstrace and the BPF tests alone.
LOADER_SRC := $(shell grep -l -E '\#include [<"](bpf/|wstrace\.skel\.h|tls\.skel\.h|capture_internal\.h)' $(USER_SRC))
# The program itself: main.c and the files that share its state (app.h).
MAIN_SRC := $(shell grep -l '\#include "app.h"' /dev/null $(wildcard user/service/*.c))
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
# The test kit every test links (tests/lib/): packet builder, event recorder;
# guard pages, the connection pipeline and frame builder are headers.
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TESTLIB_SRC))
TEST_CFLAGS := -Itests/lib
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
# libFuzzer targets, built with FUZZ_CC, ASan and UBSan into build-fuzz/:
# every layer but the loader and main.c, compiled once into a library per
# layer as for the unit tests; a target takes the members it uses (the
# service loop, which needs the loader and main.c, is never one of them).
FUZZ_BUILD := build-fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_LIBS := $(foreach l,$(filter-out capture,$(LINK_ORDER)),$(FUZZ_BUILD)/lib$(l).a)
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP -Iuser -Ibpf \
	-DWSTRACE_VERSION='"$(WSTRACE_VERSION)"' -ffunction-sections -fdata-sections
FUZZ_LDLIBS := -Wl,--gc-sections $(BASE_LDLIBS)

# Debian packages: to build and run, and what the tests use as real peers and oracles.
# DEB_BUILD_DEPS is what compiling and the unit tests need beyond
# build-essential: debian/control's Build-Depends names exactly these
# (tests/deb/check_sources.sh holds the two lists equal).
DEB_BUILD_DEPS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libpcap-dev \
	libssl-dev libcmocka-dev pkg-config libmicrohttpd-dev libgnutls28-dev libyaml-dev libcrypt-dev \
	libncurses-dev nettle-dev
# make deb: dpkg-buildpackage (dpkg-dev), debhelper, git (the clean copy).
DEB_BUILD := make gcc $(DEB_BUILD_DEPS) dpkg-dev debhelper git
DEB_TEST := tcpdump tshark iproute2 time procps bc python3 python3-websockets python3-yaml prometheus systemd nginx-light \
	chromium tmux libclang-rt-14-dev debootstrap systemd-container groff-base openssl curl python3-bcrypt gnutls-bin \
	lintian
APT := DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0

.PHONY: all test unit test-asan tests-build install clean vmlinux bench fuzz fuzz-build deps test-deps \
	test-systemd check-layers man deb test-deb print-deb-vars
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
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The files that print the version are rebuilt when it changes.
VERSION_SRC := $(shell grep -l WSTRACE_VERSION $(USER_SRC))
$(call obj,$(BUILD),$(VERSION_SRC)) $(call obj,$(FUZZ_BUILD),$(VERSION_SRC)): VERSION

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

# The wstrace(8) man page, made by wstrace from its option table.
man: $(BUILD)/wstrace.8

$(BUILD)/wstrace.8: $(BUILD)/wstrace
	$(call msg,MAN,$@)
	$(Q)$< --help-man > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Ivmlinux -Ibpf -c $< -o $(BUILD)/$*.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(BUILD)/$*.tmp.bpf.o

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/tests/lib/%.o: tests/lib/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

# Unit tests need neither libbpf nor the skeleton.
$(BUILD)/tests/%: tests/unit/%.c $(TESTLIB_OBJ) $(PURE_LIBS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(TEST_CFLAGS) $< $(TESTLIB_OBJ) $(PURE_LIBS) $(TEST_LDLIBS) -o $@

$(BUILD)/tests/%: tests/bpf/%.c $(TESTLIB_OBJ) $(ALL_LIBS) $(SKEL)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(TEST_CFLAGS) $(SKEL_CFLAGS) $< $(TESTLIB_OBJ) $(ALL_LIBS) \
		$(TEST_LDLIBS) $(BPF_LDLIBS) -o $@

$(BUILD)/tools/%: tests/tools/%.c
	$(call msg,TOOL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BPF_LDLIBS) -lpthread -o $@

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

# The unit under a real systemd alone (a Debian root booted with
# systemd-nspawn); `make test` runs it too. The first run builds that root with
# debootstrap (a few minutes on a fresh machine; cached after that).
# Exit 77 is a skip (no root or tools; under CI=true the test fails instead).
test-systemd: wstrace $(TOOL_BIN)
	$(Q)timeout 1800 env WSTRACE_BUILD=$(BUILD) bash tests/systemd/test_service_systemd.sh; \
		rc=$$?; [ $$rc -eq 77 ] && [ "$${CI:-}" != true ] || exit $$rc

# The Debian package under a booted systemd (tests/deb/test_deb.sh): make
# deb, lintian, contents, then install, upgrade, remove and purge in the
# container of test-systemd. Separate from `test`: building the package
# alone takes minutes. Exit 77 is a skip, as above.
test-deb: $(TOOL_BIN)
	$(Q)timeout 2400 env WSTRACE_BUILD=$(BUILD) bash tests/deb/test_deb.sh; \
		rc=$$?; [ $$rc -eq 77 ] && [ "$${CI:-}" != true ] || exit $$rc

$(FUZZ_BUILD)/user/%.o: user/%.c $(LAYERS_OK)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

define fuzz_lib
$(FUZZ_BUILD)/lib$(1).a: $(call obj,$(FUZZ_BUILD),$(call layer_src,$(1)))
	$$(call msg,AR,$$@)
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call fuzz_lib,$(l))))

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIBS) $(FUZZ_LDLIBS) -o $@

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

# A local install (PREFIX=/usr/local) or a package's (debian/rules: PREFIX=/usr).
install: wstrace man
	install -D -m 0755 wstrace $(DESTDIR)$(SBINDIR)/wstrace
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/wstrace|$(SBINDIR)/wstrace|' dist/wstrace.service \
		> $(DESTDIR)$(UNITDIR)/wstrace.service
	install -D -m 0644 $(BUILD)/wstrace.8 $(DESTDIR)$(MANDIR)/man8/wstrace.8
	test -e $(DESTDIR)/etc/wstrace/wstrace.conf || \
		install -D -m 0644 dist/wstrace.conf $(DESTDIR)/etc/wstrace/wstrace.conf

# The Debian package, built by dpkg-buildpackage from a clean copy of the
# tree (the committed files with their uncommitted changes, nothing
# untracked or built) in $(DEB_WORK)/, so the working tree stays as it is.
# The package goes to $(BUILD)/wstrace_VERSION_ARCH.deb.
DEB_WORK := build-deb
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_FILE = $(BUILD)/wstrace_$(WSTRACE_VERSION)_$(DEB_ARCH).deb
deb:
	$(Q)tests/deb/check_sources.sh
	$(Q)rm -rf $(DEB_WORK) && mkdir -p $(DEB_WORK)/wstrace-$(WSTRACE_VERSION) $(BUILD)
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		tree=$$(git stash create) && git archive $${tree:-HEAD} | \
		tar -x -C $(DEB_WORK)/wstrace-$(WSTRACE_VERSION); \
	else \
		tar -c --exclude='./build*' --exclude=./wstrace --exclude='*.o' --exclude=node_modules . | \
		tar -x -C $(DEB_WORK)/wstrace-$(WSTRACE_VERSION); \
	fi
	$(call msg,DEB,$(DEB_FILE))
	$(Q)cd $(DEB_WORK)/wstrace-$(WSTRACE_VERSION) && \
		dpkg-buildpackage -us -uc -b -Jauto > ../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	$(Q)cp $(DEB_WORK)/wstrace_$(WSTRACE_VERSION)_$(DEB_ARCH).deb $(DEB_FILE)
	@echo "$(DEB_FILE) (build log: $(DEB_WORK)/build.log)"

# What tests/deb/check_sources.sh compares debian/ with.
print-deb-vars:
	@echo "version=$(WSTRACE_VERSION)"
	@echo "build_deps=$(DEB_BUILD_DEPS)"


clean:
	rm -rf build build-asan build-fuzz build-deb wstrace

# Header dependencies, written by the compiler (-MMD -MP).
-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
