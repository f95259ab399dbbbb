/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The API that core_lkm exports and client_lkm links against.
 *
 * This header is the only place the shared symbols are declared: both
 * modules include it, so the compiler checks the definitions in core_lkm
 * against the declarations client_lkm is built with.  Modules of other
 * packages get it, with core_lkm's Module.symvers, from what the package
 * publishes for each kernel (/var/lib/lkm-stack/<kver>/, see README.md,
 * "Build your own module on core_lkm").
 */
#ifndef LKM_STACK_H
#define LKM_STACK_H

#include <linux/types.h>

/* Package version; scripts/set-version keeps it in step with dkms.conf. */
#define LKM_STACK_VERSION "1.0"

/*
 * The API level: what the package provides as lkm-stack-api-<level> and
 * other packages' modules depend on.  It changes only when a change would
 * break their sources (a symbol removed, a meaning changed); a rebuild
 * against a new core is still needed on every core upgrade, because a
 * source-compatible change can still change a symbol's CRC.
 */
#define LKM_STACK_API_LEVEL 1

/* The value core_lkm exports as exp_int. */
#define LKM_STACK_EXP_INT 200

/*
 * get_skey() hands the key only to a caller presenting this value;
 * everyone else gets 0.
 */
#define LKM_STACK_MAGIC 0x5ca1ab1e

extern int exp_int;

u64 get_skey(int magic);

#endif /* LKM_STACK_H */
