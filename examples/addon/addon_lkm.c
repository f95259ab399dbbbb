// SPDX-License-Identifier: GPL-2.0
/*
 * addon_lkm: a module of another package, built on core_lkm's exports.
 *
 * It is built against what lkm-stack-dkms publishes for the kernel being
 * built for (the header and core_lkm's Module.symvers, see Kbuild), never
 * against a copy of core's sources: modpost then takes exp_int's and
 * get_skey()'s CRCs from the core actually installed for that kernel, and
 * records core_lkm in this module's "depends:" field, so that modprobe
 * loads core_lkm first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include <lkm_stack.h>

static int __init addon_lkm_init(void)
{
	u64 key = get_skey(LKM_STACK_MAGIC);

	/* The agreed magic must get a key: if not, this core is not ours. */
	if (!key) {
		pr_err("get_skey() refused the agreed magic\n");
		return -EPERM;
	}

	pr_info("loaded: exp_int=%d skey=%#018llx\n", exp_int, key);
	return 0;
}

static void __exit addon_lkm_exit(void)
{
	pr_info("unloaded\n");
}

module_init(addon_lkm_init);
module_exit(addon_lkm_exit);

/* GPL: get_skey() is exported with EXPORT_SYMBOL_GPL. */
MODULE_LICENSE("GPL");
MODULE_AUTHOR("lkm-stack developers");
MODULE_DESCRIPTION("Uses the symbols core_lkm exports, from another package");
MODULE_VERSION(ADDON_LKM_VERSION);
/*
 * The core version this was built against (modinfo lkm_stack_core): the
 * core's package rebuilds this module where it differs from the core
 * installed for the kernel.
 */
MODULE_INFO(lkm_stack_core, LKM_STACK_VERSION);
