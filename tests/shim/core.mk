# SPDX-License-Identifier: GPL-2.0
#
# The page-table core as user space builds it (tests/ with sanitizers,
# bench/host/ with -O2): its sources, the user-space shim, and the include
# paths. Set TOP (the repository root) before including this file.

CPPFLAGS += -I$(TOP)/module -I$(TOP)/uapi -I$(TOP)/tests/shim
# The kernel does not warn of unused parameters either: the walker's
# actions (core/node.h) share one signature and use what they need.
CFLAGS += -Wno-unused-parameter
LDLIBS += -pthread

CORE_SRCS := $(sort $(wildcard $(TOP)/module/core/*.c)) \
	$(TOP)/module/frame/meta.c \
	$(TOP)/tests/shim/shim.c \
	$(TOP)/tests/shim/pool_user.c
CORE_HDRS := $(wildcard $(TOP)/module/env/*.h $(TOP)/module/core/*.h $(TOP)/module/frame/*.h \
	$(TOP)/tests/shim/*.h)
