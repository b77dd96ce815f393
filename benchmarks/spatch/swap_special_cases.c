/*
 * Cases for swap_special.cocci, kernel style (not compiled). A line that ends in an
 * "expect: SITE" comment must be reported; no other line may be. Check with:
 *
 *   spatch --sp-file swap_special.cocci swap_special_cases.c --very-quiet |
 *           cut -d: -f2 | sort -n > got
 *   grep -n 'expect: SITE [*]/$' swap_special_cases.c | cut -d: -f1 | diff - got
 */

int a_direct(pte_t *ptep)
{
	pte_t pte = *ptep;

	if (is_swap_pte(pte)) {
		swp_entry_t e = pte_to_swp_entry(pte); /* expect: SITE */
		return swp_type(e);
	}
	return 0;
}

int b_negated_early_return(pte_t pte)
{
	swp_entry_t e;

	if (!is_swap_pte(pte))
		return 0;
	e = pte_to_swp_entry(pte); /* expect: SITE */
	return swp_offset(e);
}

int c_guard_between(pte_t pte)
{
	swp_entry_t e;

	if (!is_swap_pte(pte))
		return 0;
	if (is_swap_special_pte(pte))
		return 1;
	e = pte_to_swp_entry(pte);
	return swp_offset(e);
}

int d_guard_in_same_condition(pte_t pte)
{
	if (is_swap_pte(pte) && !is_swap_special_pte(pte))
		return swp_offset(pte_to_swp_entry(pte));
	return 0;
}

int e_same_expression(pte_t pte)
{
	return is_swap_pte(pte) && is_pte_marker_entry(pte_to_swp_entry(pte)); /* expect: SITE */
}

int f_copy_declared(pte_t *ptep)
{
	if (is_swap_pte(*ptep)) {
		pte_t pte = *ptep;
		swp_entry_t e = pte_to_swp_entry(pte); /* expect: SITE */
		return swp_type(e);
	}
	return 0;
}

int g_copy_assigned(pte_t *ptep)
{
	pte_t pte;
	swp_entry_t e;

	if (!is_swap_pte(*ptep))
		return 0;
	pte = *ptep;
	e = pte_to_swp_entry(pte); /* expect: SITE */
	return swp_type(e);
}

int h_other_value(pte_t a, pte_t b)
{
	if (is_swap_pte(a))
		return swp_type(pte_to_swp_entry(b));
	return 0;
}

/* The guard shares a node with an unrelated test: Coccinelle does not split && nodes. */
int i_guard_behind_other_test(pte_t pte, int x)
{
	if (!is_swap_pte(pte))
		return 0;
	if (x && !pte_has_swap_entry(pte))
		return 1;
	return swp_type(pte_to_swp_entry(pte));
}

int j_else_if(pte_t *pte)
{
	if (pte_present(*pte)) {
		return 1;
	} else if (is_swap_pte(*pte)) {
		swp_entry_t swpent = pte_to_swp_entry(*pte); /* expect: SITE */
		return swp_type(swpent);
	}
	return 0;
}

int k_reassigned(pte_t pte, pte_t *ptep)
{
	if (!is_swap_pte(pte))
		return 0;
	pte = ptep_get(ptep);
	return swp_type(pte_to_swp_entry(pte));
}

int l_hugetlb_guard(pte_t pte)
{
	if (!is_swap_pte(pte))
		return 0;
	if (!huge_pte_has_swap_entry(pte))
		return 0;
	return swp_type(pte_to_swp_entry(pte));
}

int m_loop(pte_t *ptep, int n)
{
	int i, r = 0;

	for (i = 0; i < n; i++, ptep++) {
		pte_t pte = *ptep;

		if (!is_swap_pte(pte))
			continue;
		r += swp_type(pte_to_swp_entry(pte)); /* expect: SITE */
	}
	return r;
}

/* Guarded on one path only. */
int n_guard_on_one_path(pte_t pte, int x)
{
	if (!is_swap_pte(pte))
		return 0;
	if (x) {
		if (is_swap_special_pte(pte))
			return 1;
	}
	return swp_type(pte_to_swp_entry(pte)); /* expect: SITE */
}

int o_copy_before_test(pte_t *ptep)
{
	pte_t pte = *ptep;

	if (!is_swap_pte(pte))
		return 0;
	return swp_type(pte_to_swp_entry(*ptep)); /* expect: SITE */
}

int p_conditional_expression(pte_t pte)
{
	return is_swap_pte(pte) ? swp_type(pte_to_swp_entry(pte)) : -1; /* expect: SITE */
}

int q_same_expression_guarded(pte_t pte)
{
	return is_swap_pte(pte) && !is_swap_special_pte(pte) && swp_type(pte_to_swp_entry(pte));
}

int r_guard_first(pte_t pte)
{
	if (is_swap_special_pte(pte) || !is_swap_pte(pte))
		return 0;
	return swp_type(pte_to_swp_entry(pte));
}

int s_pte_has_swap_entry_instead(pte_t pte)
{
	if (pte_has_swap_entry(pte))
		return swp_type(pte_to_swp_entry(pte));
	return 0;
}

int t_guard_in_warn(struct vm_fault *vmf)
{
	if (!is_swap_pte(vmf->orig_pte))
		return 0;
	if (WARN_ON_ONCE(is_swap_special_pte(vmf->orig_pte)))
		return -1;
	return swp_type(pte_to_swp_entry(vmf->orig_pte));
}
