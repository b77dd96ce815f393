// SPDX-License-Identifier: GPL-2.0
/*
 * fakelinux: arch/ia64/mm/hugetlbpage.c, built only with CONFIG_HUGETLB_PAGE
 */
#include <linux/pgtable_fake.h>

int ia64_fake_huge_pte_present(unsigned long pte);

int ia64_fake_huge_pte_present(unsigned long pte)
{
	return pte_fake_present(pte);
}
