// Does a pte_to_swp_entry() call follow an is_swap_pte() test without a guard against the
// special swap pte?
//
// The uffd-wp series ("special swap pte") makes is_swap_pte() true for a pte that holds no
// swap entry, so pte_to_swp_entry(E) reached from an is_swap_pte(E) test is only safe on a
// path that also tests pte_has_swap_entry(E), is_swap_special_pte(E) or, for hugetlb,
// huge_pte_has_swap_entry(E). Every pte_to_swp_entry() call reached from an is_swap_pte() test
// of the same expression (or of a plain copy of it) on a path without such a test is printed,
// one line per call site:
//
//     SITE <file>:<line>:<function>
//
// with <file> relative to the current directory (run spatch from the top of the tree):
//
//     spatch --sp-file swap_special.cocci --dir . --include-headers --no-includes --use-gitgrep --very-quiet --jobs 2
//
// or faster, on a file list from git grep: see run.sh and README.md.
//
// What counts as a guard: a guard call on the tested expression (or on the copy) anywhere in a
// statement or condition between the test and the call, also inside WARN_ON() or unlikely(),
// or behind another && operand, since Coccinelle does not split a condition at && and ||.
// A guard in the same condition as the is_swap_pte() test guards that test:
// `is_swap_pte(p) && !is_swap_special_pte(p)`, `!is_swap_pte(p) || is_swap_special_pte(p)`,
// in either order. Assigning a new value to the expression between the test and the call
// ends the flow.

@initialize:python@
@@
import os
seen = set()

def site(p):
    key = (os.path.relpath(p[0].file), p[0].line, p[0].current_element)
    if key not in seen:
        seen.add(key)
        print("SITE %s:%s:%s" % key)

// is_swap_pte() tests that carry their own guard in the same condition.
@guarded@
identifier guard = {pte_has_swap_entry, is_swap_special_pte, huge_pte_has_swap_entry};
expression E;
position p1;
@@
(
 (<+... is_swap_pte@p1(E) ...+>) && (<+... guard(E) ...+>)
|
 (<+... is_swap_pte@p1(E) ...+>) || (<+... guard(E) ...+>)
|
 (<+... guard(E) ...+>) && (<+... is_swap_pte@p1(E) ...+>)
|
 (<+... guard(E) ...+>) || (<+... is_swap_pte@p1(E) ...+>)
)

// 1. if (is_swap_pte(E)) ... pte_to_swp_entry(E)
@direct exists@
identifier guard = {pte_has_swap_entry, is_swap_special_pte, huge_pte_has_swap_entry};
expression E, E2;
position p1 != guarded.p1, p2;
@@
is_swap_pte@p1(E)
... when != guard(E)
    when != E = E2
pte_to_swp_entry@p2(E)

@script:python@
p2 << direct.p2;
@@
site(p2)

// 2. if (is_swap_pte(E)) ... y = E; (or T y = E;) ... pte_to_swp_entry(y)
@copy_after exists@
identifier guard = {pte_has_swap_entry, is_swap_special_pte, huge_pte_has_swap_entry};
expression E, E2;
identifier y;
position p1 != guarded.p1, p2;
@@
is_swap_pte@p1(E)
... when != guard(E)
    when != E = E2
y = E
... when != guard(E)
    when != guard(y)
    when != y = E2
pte_to_swp_entry@p2(y)

@script:python@
p2 << copy_after.p2;
@@
site(p2)

// 3. y = E; ... if (is_swap_pte(y)) ... pte_to_swp_entry(E)
@copy_before exists@
identifier guard = {pte_has_swap_entry, is_swap_special_pte, huge_pte_has_swap_entry};
expression E, E2;
identifier y;
position p1 != guarded.p1, p2;
@@
y = E
... when != y = E2
    when != E = E2
is_swap_pte@p1(y)
... when != guard(E)
    when != guard(y)
    when != E = E2
    when != y = E2
pte_to_swp_entry@p2(E)

@script:python@
p2 << copy_before.p2;
@@
site(p2)

// 4. One expression: is_swap_pte(E) && f(pte_to_swp_entry(E)), is_swap_pte(E) ? ... : ...
@same_expr@
expression E, E3;
position p1 != guarded.p1, p2;
@@
(
 (<+... is_swap_pte@p1(E) ...+>) && (<+... pte_to_swp_entry@p2(E) ...+>)
|
 is_swap_pte@p1(E) ? (<+... pte_to_swp_entry@p2(E) ...+>) : E3
)

@script:python@
p2 << same_expr.p2;
@@
site(p2)
