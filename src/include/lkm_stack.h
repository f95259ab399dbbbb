/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The API that core_lkm exports and client_lkm links against.
 *
 * This header is the only place the shared symbols are declared: both
 * modules include it, so the compiler checks the definitions in core_lkm
 * against the declarations client_lkm is built with.
 */
#ifndef LKM_STACK_H
#define LKM_STACK_H

#include <linux/types.h>

/* Package version; scripts/set-version keeps it in step with dkms.conf. */
#define LKM_STACK_VERSION "1.0"

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
