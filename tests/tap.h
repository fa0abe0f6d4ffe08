/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal TAP harness for the host tests of the page-table core.
 *
 * Each test program lists its cases in a table and calls tap_main(). Every
 * case prints exactly one "ok N - name" / "not ok N - name" line; checks
 * that fail print "# file:line: ..." diagnostics. CHECK* record a failure
 * and go on; REQUIRE* also abandon the case (longjmp back to the harness).
 * tests/runner.c renumbers the lines of all programs into one TAP stream.
 */
#ifndef SPT_TESTS_TAP_H
#define SPT_TESTS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tap_case {
	const char *name;
	void (*fn)(void);
};

#define TAP_CASE(f) { #f, f }

/* Runs the cases (or those whose name contains argv[1]); exit status. */
int tap_main(const struct tap_case *cases, size_t n, int argc, char **argv);

/* Record a failure of the current case (printf-style diagnostic). */
void tap_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Abandon the current case (after a failure was recorded). */
void tap_abort(void) __attribute__((noreturn));
/* Print a "# " diagnostic line. */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Has the current case failed so far? */
bool tap_case_failed(void);

#define CHECK(c) ({						\
	bool __c = !!(c);						\
	if (!__c)							\
		tap_fail_at(__FILE__, __LINE__, "CHECK(%s) failed", #c);	\
	__c;								\
})

#define CHECK_EQ(a, b) ({						\
	unsigned long long __a = (unsigned long long)(a);		\
	unsigned long long __b = (unsigned long long)(b);		\
	bool __ok = __a == __b;						\
	if (!__ok)							\
		tap_fail_at(__FILE__, __LINE__,				\
			    "%s == %s: 0x%llx != 0x%llx (%lld != %lld)",	\
			    #a, #b, __a, __b, (long long)__a,		\
			    (long long)__b);				\
	__ok;								\
})

#define CHECKF(c, ...) ({						\
	bool __c = !!(c);						\
	if (!__c)							\
		tap_fail_at(__FILE__, __LINE__, __VA_ARGS__);		\
	__c;								\
})

#define REQUIRE(c)							\
	do {								\
		if (!CHECK(c))						\
			tap_abort();					\
	} while (0)

#define REQUIRE_EQ(a, b)						\
	do {								\
		if (!CHECK_EQ(a, b))					\
			tap_abort();					\
	} while (0)

#endif /* SPT_TESTS_TAP_H */
