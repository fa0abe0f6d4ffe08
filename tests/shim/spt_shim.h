/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-ins for the kernel names the portable core uses
 * (module/core, module/frame/meta.c). Included by env/spt_env.h when
 * __KERNEL__ is not defined; nothing else should include it directly.
 *
 * Atomics and bit operations are real (GCC __atomic builtins), so several
 * threads may run cursors at once. Preemption and RCU are not: the
 * preempt/RCU calls only keep a per-thread nesting count (used by the
 * assert hooks below). A multi-threaded test must therefore not release a
 * flusher (spt_flusher_release) while another thread may still be walking the
 * table lock-free, which is what a grace period would guarantee.
 *
 * WARN_ON/WARN_ON_ONCE/BUG_ON print and abort(): a test must notice.
 */
#ifndef SPT_SHIM_H
#define SPT_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>

#ifndef EUCLEAN
#define EUCLEAN 117
#endif

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;

#define U8_MAX		((u8)~0U)
#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)

#define BIT(nr)		(1UL << (nr))
#define BIT_ULL(nr)	(1ULL << (nr))
#define GENMASK_ULL(h, l) \
	(((~0ULL) << (l)) & (~0ULL >> (63 - (h))))

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#undef __always_inline
#define __always_inline	inline __attribute__((__always_inline__))
#define noinline	__attribute__((__noinline__))
#define __printf(a, b)	__attribute__((__format__(printf, a, b)))
#define __maybe_unused	__attribute__((__unused__))
#define fallthrough	__attribute__((__fallthrough__))
#define __acquires(x)
#define __releases(x)
#define __must_hold(x)
#define __acquire(x)	((void)0)
#define __release(x)	((void)0)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     _a < _b ? _a : _b; })
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     _a > _b ? _a : _b; })
#define min_t(t, a, b)	min((t)(a), (t)(b))
#define max_t(t, a, b)	max((t)(a), (t)(b))

#define ALIGN(x, a)		(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)

/* The kernel's one-or-two-argument static_assert. */
#undef static_assert
#define static_assert(expr, ...) __spt_static_assert(expr, ##__VA_ARGS__, #expr)
#define __spt_static_assert(expr, msg, ...) _Static_assert(expr, msg)

/* ---- diagnostics: abort so that tests notice ---- */
#define __spt_warn_fail(kind, cond)					\
	do {								\
		fprintf(stderr, "%s:%d: %s(%s) in %s\n", __FILE__,	\
			__LINE__, kind, cond, __func__);		\
		abort();						\
	} while (0)

#define WARN_ON(x) ({							\
	bool __w = !!(x);						\
	if (unlikely(__w))						\
		__spt_warn_fail("WARN_ON", #x);				\
	__w;								\
})
#define WARN_ON_ONCE(x)	WARN_ON(x)
#define WARN(x, ...) ({							\
	bool __w = !!(x);						\
	if (unlikely(__w)) {						\
		fprintf(stderr, __VA_ARGS__);				\
		__spt_warn_fail("WARN", #x);				\
	}								\
	__w;								\
})
#define WARN_ONCE(x, ...) WARN(x, __VA_ARGS__)
#define BUG_ON(x)							\
	do {								\
		if (unlikely(x))					\
			__spt_warn_fail("BUG_ON", #x);			\
	} while (0)
#define BUG()	__spt_warn_fail("BUG", "")

/* ---- READ_ONCE / WRITE_ONCE and barriers ---- */
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define barrier()	__asm__ __volatile__("" ::: "memory")
#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	barrier();
#endif
}

/* ---- atomic_t ---- */
typedef struct {
	int counter;
} atomic_t;

#define ATOMIC_INIT(i)	{ (i) }

static inline int atomic_read(const atomic_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic_set(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

/* Returns the value found; stores @new only if it was @old (full barrier). */
static inline int atomic_cmpxchg(atomic_t *v, int old, int new)
{
	__atomic_compare_exchange_n(&v->counter, &old, new, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return old;
}

static inline bool atomic_try_cmpxchg(atomic_t *v, int *old, int new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline void atomic_add(int i, atomic_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_sub(int i, atomic_t *v)
{
	__atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_inc(atomic_t *v)
{
	atomic_add(1, v);
}

static inline void atomic_dec(atomic_t *v)
{
	atomic_sub(1, v);
}

static inline int atomic_add_return(int i, atomic_t *v)
{
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline int atomic_inc_return(atomic_t *v)
{
	return atomic_add_return(1, v);
}

static inline int atomic_dec_return(atomic_t *v)
{
	return atomic_add_return(-1, v);
}

static inline bool atomic_dec_and_test(atomic_t *v)
{
	return atomic_dec_return(v) == 0;
}

/* ---- atomic_long_t (the few the core uses) ---- */
typedef struct {
	long counter;
} atomic_long_t;

static inline long atomic_long_read(const atomic_long_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic_long_set(atomic_long_t *v, long i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_long_inc(atomic_long_t *v)
{
	__atomic_fetch_add(&v->counter, 1, __ATOMIC_RELAXED);
}

static inline void atomic_long_dec(atomic_long_t *v)
{
	__atomic_fetch_sub(&v->counter, 1, __ATOMIC_RELAXED);
}

static inline void atomic_long_add(long i, atomic_long_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

/* ---- bit operations on unsigned long (atomic unless __-prefixed) ---- */
#define BITS_PER_LONG		(8 * sizeof(long))
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)

static inline bool test_bit(long nr, const volatile unsigned long *addr)
{
	return (__atomic_load_n(&addr[BIT_WORD(nr)], __ATOMIC_RELAXED) >>
		(nr % BITS_PER_LONG)) & 1;
}

static inline void set_bit(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_or(&addr[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline void clear_bit(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr),
			   __ATOMIC_RELAXED);
}

static inline bool test_and_set_bit(long nr, volatile unsigned long *addr)
{
	return __atomic_fetch_or(&addr[BIT_WORD(nr)], BIT_MASK(nr),
				 __ATOMIC_SEQ_CST) & BIT_MASK(nr);
}

static inline bool test_and_clear_bit(long nr, volatile unsigned long *addr)
{
	return __atomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr),
				  __ATOMIC_SEQ_CST) & BIT_MASK(nr);
}

/* Acquire on success. */
static inline bool test_and_set_bit_lock(long nr, volatile unsigned long *addr)
{
	return __atomic_fetch_or(&addr[BIT_WORD(nr)], BIT_MASK(nr),
				 __ATOMIC_ACQUIRE) & BIT_MASK(nr);
}

/* Release. */
static inline void clear_bit_unlock(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr),
			   __ATOMIC_RELEASE);
}

/* ---- preemption and RCU: nesting counts only (see the top comment) ---- */
extern __thread int spt_shim_preempt_count;
/* The grace-period state the polled RCU API hands out (only what we use). */
struct rcu_gp_oldstate {
	unsigned long rgos_norm;
};

extern __thread int spt_shim_rcu_depth;

static inline void preempt_disable(void)
{
	spt_shim_preempt_count++;
}

static inline void preempt_enable(void)
{
	WARN_ON(spt_shim_preempt_count <= 0);
	spt_shim_preempt_count--;
}

static inline int preempt_count(void)
{
	return spt_shim_preempt_count;
}

static inline bool preemptible(void)
{
	return spt_shim_preempt_count == 0;
}

static inline void rcu_read_lock(void)
{
	spt_shim_rcu_depth++;
}

static inline void rcu_read_unlock(void)
{
	WARN_ON(spt_shim_rcu_depth <= 0);
	spt_shim_rcu_depth--;
}

static inline bool rcu_read_lock_held(void)
{
	return spt_shim_rcu_depth > 0;
}

/* ---- bit spinlocks (the kernel's take the preemption count too) ---- */
static inline void bit_spin_lock(int nr, unsigned long *addr)
{
	preempt_disable();
	while (unlikely(test_and_set_bit_lock(nr, addr))) {
		while (test_bit(nr, addr))
			cpu_relax();
	}
}

static inline bool bit_spin_trylock(int nr, unsigned long *addr)
{
	preempt_disable();
	if (unlikely(test_and_set_bit_lock(nr, addr))) {
		preempt_enable();
		return false;
	}
	return true;
}

static inline void bit_spin_unlock(int nr, unsigned long *addr)
{
	WARN_ON(!test_bit(nr, addr));
	clear_bit_unlock(nr, addr);
	preempt_enable();
}

static inline bool bit_spin_is_locked(int nr, unsigned long *addr)
{
	return test_bit(nr, addr);
}

/* ---- lockdep-ish assert hooks ---- */
#define lockdep_assert(cond)	WARN_ON(!(cond))
#define lockdep_assert_preemption_disabled() \
	WARN_ON(spt_shim_preempt_count <= 0)
#define might_sleep()		WARN_ON(spt_shim_preempt_count > 0)
#define cond_resched()		might_sleep()

#endif /* SPT_SHIM_H */
