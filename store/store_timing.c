/*
 * store_timing.c: the store's clocks and its timing hook.
 *
 * store_now_ms and store_mono_ms are the wall and monotonic clocks every
 * file of store/ reads (milliseconds). store_set_timing installs the hook
 * (store.h) that the request-path calls of store.c and store_scan.c report
 * their duration to, by operation (store_op_names); it may be set or
 * cleared while other threads run calls. The calls measure with
 * store_timing_start / store_timing_end, inline in store_internal.h so
 * that a call without a hook costs one atomic load.
 */
#include <time.h>

#include "store_internal.h"

store_timing_cb store_timing_hook;

const char *const store_op_names[STORE_NOPS] = {
	"get", "put", "delete", "scan", "purge", "count"
};

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
store_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
store_set_timing(store_timing_cb cb)
{
	__atomic_store_n(&store_timing_hook, cb, __ATOMIC_RELEASE);
}
