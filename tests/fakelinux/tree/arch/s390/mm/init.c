// SPDX-License-Identifier: GPL-2.0
/*
 * fakelinux: arch/s390/mm/init.c
 */
#include <asm/pgtable.h>

unsigned long s390_fake_ptrs_per_pte(void);

unsigned long s390_fake_ptrs_per_pte(void)
{
	return PTRS_PER_PTE_FAKE;
}
