// SPDX-License-Identifier: GPL-2.0-only
/*
 * fakelinux: mm/needs_missing.c, guarded by CONFIG_FAKE_NEEDS_MISSING, which depends on a
 * symbol no Kconfig defines: it is never built ("No rule to make target").
 */
int fake_needs_missing(void);

int fake_needs_missing(void)
{
	return 0;
}
