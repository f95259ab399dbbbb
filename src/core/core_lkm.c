// SPDX-License-Identifier: GPL-2.0
/*
 * core_lkm: the bottom of the stack.
 *
 * Exports an int and a keyed accessor. Any module that uses them gets a
 * reference on this one, so the kernel refuses to unload core_lkm while
 * such a module is loaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>

#include "lkm_stack.h"

int exp_int = LKM_STACK_EXP_INT;
EXPORT_SYMBOL(exp_int);

/*
 * Chosen at load time, so a client can only know it by asking us.  Not
 * __ro_after_init: that section costs a page of its own in every loaded
 * copy of the module, for a value nothing writes after init anyway.
 */
static u64 skey;

static bool fail_init;
module_param(fail_init, bool, 0444);
MODULE_PARM_DESC(fail_init,
		 "Make module init fail with -ECANCELED, to test error paths");

u64 get_skey(int magic)
{
	return magic == LKM_STACK_MAGIC ? skey : 0;
}
EXPORT_SYMBOL_GPL(get_skey);

static int __init core_lkm_init(void)
{
	if (fail_init) {
		pr_err("init failed on request (fail_init=1)\n");
		return -ECANCELED;
	}

	/* 0 is the refusal answer, so never hand it out as a key. */
	skey = get_random_u64() | 1;
	pr_info("loaded: exp_int=%d skey=%#018llx\n", exp_int, skey);
	return 0;
}

static void __exit core_lkm_exit(void)
{
	pr_info("unloaded\n");
}

module_init(core_lkm_init);
module_exit(core_lkm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("lkm-stack developers");
MODULE_DESCRIPTION("Exports exp_int and get_skey() to stacked modules");
MODULE_VERSION(LKM_STACK_VERSION);
