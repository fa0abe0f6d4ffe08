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
	demo lint clean help

all: module userspace selftests

help:
	@echo 'make               module for KVER/KDIR (+ sptctl, selftests)'
	@echo 'make all-kernels   module for every Debian kernel installed'
	@echo 'make demo          boot a throwaway VM and drive shadowpt with sptctl'
	@echo 'make check         every test: host, lint, selftests on the VM matrix'
	@echo 'make host-tests    the page-table core tests in user space'

# The module is built in a per-kernel copy of the sources (build/<kver>/) so
# that builds for several kernels never share object files. For KVER/KDIR the
# result is also copied to module/shadowpt.ko.
module:
	@if [ -d "$(KDIR)" ]; then \
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
	done

userspace:
	$(MAKE) -C userspace

selftests:
	$(MAKE) -C selftests

host-tests:
	$(MAKE) -C tests run

deps:
	scripts/install-deps

lint:
	scripts/lint

check: deps
	$(MAKE) --no-print-directory all-kernels userspace selftests
	scripts/check

demo: deps
	$(MAKE) --no-print-directory all-kernels userspace
	scripts/vm --kver 6.12 --timeout 300 -- scripts/demo

clean:
	rm -rf "$(BUILD)" module/shadowpt.ko
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean
	$(MAKE) -C tests clean
