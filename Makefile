# SPDX-License-Identifier: GPL-2.0
#
# shadowpt: `make` builds the module for KVER (default: the running kernel),
# sptctl and the selftests. `make demo` and `make check` install what they
# need first (scripts/install-deps) and run everything inside QEMU guests:
# nothing is ever loaded into the host kernel.

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
BUILD ?= $(CURDIR)/build
DEBIAN_KERNELS ?= 6.1 6.12

.PHONY: all module all-kernels userspace selftests host-tests deps check \
	demo lint clean help fuzz check-plant check-debug

all: module userspace selftests

help:
	@echo 'make               module for KVER/KDIR (+ sptctl, selftests)'
	@echo 'make all-kernels   module for every Debian kernel installed'
	@echo 'make demo          boot a throwaway VM and drive shadowpt with sptctl'
	@echo 'make check         every test: host, lint, selftests on the VM matrix'
	@echo 'make host-tests    the page-table core tests in user space'
	@echo 'make bench         sptbench in a VM (BENCH_KVERS=6.12), docs/performance.png'
	@echo 'make bench-host    the core natively + callgrind vs floor and per-page walk'
	@echo 'make fuzz          the ioctl fuzzer in a VM (FUZZ_SECONDS=, KVER=6.1|6.12)'
	@echo 'make check-plant   planted bugs (leak, missing lock) must be caught'
	@echo 'make check-debug   suite + fuzzer on a KASAN/lockdep/kmemleak kernel'
	@echo 'make install       sptctl, libshadowpt, man pages, Python, DKMS sources'
	@echo '                   (DESTDIR=, PREFIX=; make uninstall; docs/install.md)'

# The module is built in a per-kernel copy of the sources (build/<kver>/) so
# that builds for several kernels never share object files. For KVER/KDIR the
# result is also copied to module/shadowpt.ko.
module:
	+@if [ -d "$(KDIR)" ]; then \
		scripts/build-module "$(KDIR)" "$(BUILD)/$(KVER)" && \
		cp "$(BUILD)/$(KVER)/shadowpt.ko" module/shadowpt.ko; \
	else \
		echo "no kernel headers at $(KDIR): building for the Debian kernels instead"; \
		$(MAKE) --no-print-directory all-kernels; \
	fi

all-kernels:
	@set -e; for k in $(DEBIAN_KERNELS); do \
		v=$$(scripts/kver $$k); \
		scripts/build-module /lib/modules/$$v/build "$(BUILD)/$$v"; \
		$(MAKE) --no-print-directory -C samples/shadowpt_client \
			KVER=$$v BUILD="$(BUILD)"; \
	done

userspace:
	$(MAKE) -C userspace
	$(MAKE) -C examples

selftests:
	$(MAKE) -C selftests

# Benchmarks (docs/performance.md); not part of `make check`.
BENCH_KVERS ?= 6.12
.PHONY: bench bench-host
bench:
	scripts/bench $(addprefix --kver ,$(BENCH_KVERS))

bench-host:
	$(MAKE) -C bench/host run

host-tests:
	$(MAKE) -C tests run

deps:
	scripts/install-deps

lint:
	scripts/lint

# The tree's `git status` before the build: scripts/check's last step fails
# on any path that the build or the tests changed or left behind.
check: deps
	@mkdir -p "$(BUILD)" && git status --porcelain \
		> "$(BUILD)/tree-at-start" 2> /dev/null || :
	$(MAKE) --no-print-directory all-kernels userspace selftests
	$(MAKE) --no-print-directory -C bench
	TREE_AT_START="$(BUILD)/tree-at-start" scripts/check

demo: deps
	$(MAKE) --no-print-directory all-kernels userspace
	scripts/vm --kver 6.12 --timeout 300 -- scripts/demo

# make fuzz [FUZZ_SECONDS=600] [KVER=6.1|6.12]: the ioctl fuzzer in a VM for
# as long as asked (SPT_FUZZ_SEED=... replays a seed's op mix).
FUZZ_SECONDS ?= 600
FUZZ_KVER = $(if $(filter command line environment,$(origin KVER)),$(KVER),6.12)
fuzz: deps
	$(MAKE) --no-print-directory all-kernels selftests
	scripts/vm --kver $(FUZZ_KVER) --cpus 3 --append maxcpus=2 \
		--timeout $$(( $(FUZZ_SECONDS) + 600 )) --name fuzz -- \
		env SPT_FUZZ_SECONDS=$(FUZZ_SECONDS) \
		SPT_FUZZ_SEED=$(SPT_FUZZ_SEED) SPT_SELFTESTS=shadowpt_fuzz_test \
		SPT_SELFTEST_TIMEOUT=$$(( $(FUZZ_SECONDS) + 300 )) \
		scripts/guest-selftests

# Planted bugs (Kbuild SPT_PLANT=leak|nolock) must make the suite fail.
check-plant: deps
	$(MAKE) --no-print-directory all-kernels selftests
	scripts/plant-check

# The whole suite and the fuzzer under a KASAN/lockdep/kmemleak kernel.
check-debug: deps
	$(MAKE) --no-print-directory userspace selftests
	scripts/check-debug

clean:
	rm -rf "$(BUILD)" module/shadowpt.ko
	$(MAKE) -C userspace clean
	$(MAKE) -C examples clean
	$(MAKE) -C selftests clean
	$(MAKE) -C tests clean

# make install / make uninstall [DESTDIR=...] [PREFIX=/usr/local]: the
# module's sources for DKMS (in $(DKMSDIR)/shadowpt-<ver>, registered and
# built with dkms when DESTDIR is empty and dkms is installed), sptctl, the
# library with its headers and pkg-config file, the man pages and the
# Python package. The exact file list: docs/install.md (checked by
# scripts/install-check). Uninstall removes exactly what install wrote.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PYTHONDIR ?= $(PREFIX)/lib/python3/dist-packages
DKMSDIR ?= /usr/src
SPT_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\([^"]*\)"$$/\1/p' dkms.conf)
DKMS_SRC := $(DKMSDIR)/shadowpt-$(SPT_VERSION)
LIB_REAL := libshadowpt.so.1.0.0
PY_FILES := __init__.py __main__.py _lib.py
INSTALL ?= install
DKMS_FILES = Makefile Kbuild dkms.conf scripts/build-module \
	$(shell find module uapi include -name '*.[chS]' | LC_ALL=C sort)

.PHONY: install uninstall install-check
install:
	$(MAKE) --no-print-directory -C userspace
	$(MAKE) --no-print-directory -C userspace/lib \
		PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR) \
		-B shadowpt.pc
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/linux $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(PYTHONDIR)/shadowpt
	$(INSTALL) -m 755 userspace/sptctl $(DESTDIR)$(SBINDIR)/sptctl
	$(INSTALL) -m 755 userspace/lib/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_REAL)
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/libshadowpt.so.1
	ln -sf libshadowpt.so.1 $(DESTDIR)$(LIBDIR)/libshadowpt.so
	$(INSTALL) -m 644 userspace/lib/libshadowpt.a $(DESTDIR)$(LIBDIR)/libshadowpt.a
	$(INSTALL) -m 644 userspace/lib/shadowpt.pc \
		$(DESTDIR)$(LIBDIR)/pkgconfig/shadowpt.pc
	$(INSTALL) -m 644 userspace/lib/libshadowpt.h \
		$(DESTDIR)$(INCLUDEDIR)/libshadowpt.h
	$(INSTALL) -m 644 uapi/linux/shadowpt.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/shadowpt.h
	$(INSTALL) -m 644 docs/sptctl.8 $(DESTDIR)$(MANDIR)/man8/sptctl.8
	$(INSTALL) -m 644 docs/libshadowpt.3 $(DESTDIR)$(MANDIR)/man3/libshadowpt.3
	for f in $(PY_FILES); do \
		$(INSTALL) -m 644 python/shadowpt/$$f \
			$(DESTDIR)$(PYTHONDIR)/shadowpt/$$f || exit 1; \
	done
	for f in $(DKMS_FILES); do \
		$(INSTALL) -D -m 644 $$f $(DESTDIR)$(DKMS_SRC)/$$f || exit 1; \
	done
	chmod 755 $(DESTDIR)$(DKMS_SRC)/scripts/build-module
	$(MAKE) --no-print-directory -C userspace/lib -B shadowpt.pc
	@if [ -z "$(DESTDIR)" ] && command -v dkms > /dev/null; then \
		dkms add shadowpt/$(SPT_VERSION) && \
		dkms install shadowpt/$(SPT_VERSION); \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig > /dev/null; then \
		ldconfig; fi

uninstall:
	@if [ -z "$(DESTDIR)" ] && command -v dkms > /dev/null && \
		dkms status shadowpt/$(SPT_VERSION) | grep -q .; then \
		dkms remove shadowpt/$(SPT_VERSION) --all; \
	fi
	rm -f $(DESTDIR)$(SBINDIR)/sptctl \
		$(DESTDIR)$(LIBDIR)/$(LIB_REAL) \
		$(DESTDIR)$(LIBDIR)/libshadowpt.so.1 \
		$(DESTDIR)$(LIBDIR)/libshadowpt.so \
		$(DESTDIR)$(LIBDIR)/libshadowpt.a \
		$(DESTDIR)$(LIBDIR)/pkgconfig/shadowpt.pc \
		$(DESTDIR)$(INCLUDEDIR)/libshadowpt.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/shadowpt.h \
		$(DESTDIR)$(MANDIR)/man8/sptctl.8 \
		$(DESTDIR)$(MANDIR)/man3/libshadowpt.3
	rm -rf $(DESTDIR)$(PYTHONDIR)/shadowpt $(DESTDIR)$(DKMS_SRC)
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig > /dev/null; then \
		ldconfig; fi

install-check:
	scripts/install-check
