// SPDX-License-Identifier: GPL-2.0
/*
 * fakelinux: arch/s390/mm/hugetlbpage.c, built only with CONFIG_HUGETLB_PAGE
 */
#include <linux/pgtable_fake.h>

int s390_fake_huge_pte_present(unsigned long pte);

int s390_fake_huge_pte_present(unsigned long pte)
{
	return pte_fake_present(pte);
}
