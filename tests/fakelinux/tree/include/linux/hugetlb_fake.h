/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_HUGETLB_FAKE_H
#define _LINUX_HUGETLB_FAKE_H

#ifdef CONFIG_HUGETLB_PAGE
#define HUGETLB_FAKE_ENABLED 1
#else
#define HUGETLB_FAKE_ENABLED 0
#endif

unsigned long hugetlb_fake_total_pages(void);

#endif /* _LINUX_HUGETLB_FAKE_H */
