// SPDX-License-Identifier: GPL-2.0-only
/*
 * fakelinux: mm/memory.c
 */
#include <linux/pgtable_fake.h>

unsigned long fake_count_present(const unsigned long *ptes, unsigned long nr);

unsigned long fake_count_present(const unsigned long *ptes, unsigned long nr)
{
	unsigned long i, count = 0;

	for (i = 0; i < nr; i++)
		count += pte_fake_present(ptes[i]);
	return count;
}
