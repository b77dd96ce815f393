/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ASM_S390_PGTABLE_H
#define _ASM_S390_PGTABLE_H

#ifdef CONFIG_64BIT
#define PAGE_FAKE_SHIFT		12
#else
#define PAGE_FAKE_SHIFT		16
#endif
#define PTRS_PER_PTE_FAKE	(1UL << (PAGE_FAKE_SHIFT - 3))
#define PTE_FAKE_VALID		0x1UL

#endif /* _ASM_S390_PGTABLE_H */
