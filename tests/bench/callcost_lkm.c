// SPDX-License-Identifier: GPL-2.0
/*
 * callcost_lkm: measures what calling across modules costs.
 *
 * Times N calls of core_lkm's exported get_skey() against N calls of an
 * identical function inside this module.  Once the module loader has
 * relocated it, a call to an exported symbol is a plain direct call, so
 * the ratio should be about 1.0.  Used by "make bench" only; never
 * packaged.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "lkm_stack.h"

static unsigned int calls = 1000000;
module_param(calls, uint, 0444);
MODULE_PARM_DESC(calls, "Number of calls timed for each function");

static u64 local_skey = 1;

/*
 * The same body as core_lkm's get_skey().  noipa keeps GCC from seeing
 * that it is pure and hoisting or dropping the calls: the exported one
 * gets no such help, since its body is in another module.
 */
static noinline __attribute__((__noipa__)) u64 local_get_skey(int magic)
{
	return magic == LKM_STACK_MAGIC ? local_skey : 0;
}

/*
 * Two loops rather than one taking a function pointer: an indirect call
 * (through a retpoline on most distribution kernels) would be measured
 * instead of the direct calls the loader sets up.
 */
static u64 time_exported_calls(u64 *sink)
{
	u64 start = ktime_get_ns();
	unsigned int i;

	for (i = 0; i < calls; i++)
		*sink += get_skey(LKM_STACK_MAGIC);
	return ktime_get_ns() - start;
}

static u64 time_local_calls(u64 *sink)
{
	u64 start = ktime_get_ns();
	unsigned int i;

	for (i = 0; i < calls; i++)
		*sink += local_get_skey(LKM_STACK_MAGIC);
	return ktime_get_ns() - start;
}

static int __init callcost_lkm_init(void)
{
	u64 sink = 0;
	u64 exported_ns, local_ns;

	if (!calls)
		return -EINVAL;

	exported_ns = time_exported_calls(&sink);
	local_ns = time_local_calls(&sink);
	pr_info("calls=%u exported_ns=%llu local_ns=%llu sink=%llu\n",
		calls, exported_ns, local_ns, sink);
	return 0;
}

static void __exit callcost_lkm_exit(void)
{
}

module_init(callcost_lkm_init);
module_exit(callcost_lkm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Times calls of core_lkm's get_skey() against local calls");

