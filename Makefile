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
		$(MAKE) --no-print-directory -C samples/shadowpt_client \
			KVER=$$v BUILD="$(BUILD)"; \
	done

userspace:
	$(MAKE) -C userspace

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
	$(MAKE) -C selftests clean
	$(MAKE) -C tests clean
