// SPDX-License-Identifier: GPL-2.0
/*
 * fakelinux: arch/ia64/mm/init.c
 */
#include <asm/pgtable.h>

unsigned long ia64_fake_ptrs_per_pte(void);

unsigned long ia64_fake_ptrs_per_pte(void)
{
	return PTRS_PER_PTE_FAKE;
}
