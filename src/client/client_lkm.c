// SPDX-License-Identifier: GPL-2.0
/*
 * client_lkm: the top of the stack.
 *
 * Uses the symbols core_lkm exports. modpost records core_lkm in this
 * module's "depends:" field, which is what lets modprobe load core_lkm
 * first and makes the kernel refuse this module while core_lkm is absent.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "lkm_stack.h"

static int magic = LKM_STACK_MAGIC;
module_param(magic, int, 0444);
MODULE_PARM_DESC(magic,
		 "Value presented to get_skey(); anything but the agreed one is refused");

static int __init client_lkm_init(void)
{
	u64 key = get_skey(magic);

	if (!key) {
		/* Still load: watching the refusal is the point of "magic". */
		pr_warn("loaded: exp_int=%d, get_skey() refused magic %#x (skey=0)\n",
			exp_int, magic);
		return 0;
	}

	pr_info("loaded: exp_int=%d skey=%#018llx\n", exp_int, key);
	return 0;
}

static void __exit client_lkm_exit(void)
{
	pr_info("unloaded\n");
}

module_init(client_lkm_init);
module_exit(client_lkm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("lkm-stack developers");
MODULE_DESCRIPTION("Uses the symbols core_lkm exports");
MODULE_VERSION(LKM_STACK_VERSION);
