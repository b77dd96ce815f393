/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_PGTABLE_FAKE_H
#define _LINUX_PGTABLE_FAKE_H

#include <asm/pgtable.h>

static inline int pte_fake_present(unsigned long pte)
{
	return (pte & PTE_FAKE_VALID) != 0;
}

static inline unsigned long pte_fake_index(unsigned long addr)
{
	return (addr >> PAGE_FAKE_SHIFT) & (PTRS_PER_PTE_FAKE - 1);
}

#endif /* _LINUX_PGTABLE_FAKE_H */
