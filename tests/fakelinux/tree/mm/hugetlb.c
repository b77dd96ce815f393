// SPDX-License-Identifier: GPL-2.0-only
/*
 * fakelinux: mm/hugetlb.c, built only with CONFIG_HUGETLBFS
 */
#include <linux/hugetlb_fake.h>

unsigned long hugetlb_fake_total_pages(void)
{
	return HUGETLB_FAKE_ENABLED ? 512 : 0;
}
