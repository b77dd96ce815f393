"""What callers do with a watched function's result, read against a changed return contract:
small C callers, one call each, and the verdict every one of them gets."""

from __future__ import annotations

import pytest

from reviewtool.analysis.callers import (
    FAILURE,
    NEUTRAL,
    SUCCESS,
    CallerAnalysis,
    CallerSite,
    Contract,
    Token,
    _compare,
    dereferenced_parameters,
    meaning,
)
from reviewtool.analysis.contracts import NULL, POINTER, UNKNOWN, ReturnKind, ReturnType
from reviewtool.analysis.csource import parse_file

PAGE = ReturnType("pointer", "struct page *")
INT = ReturnType("int", "int")
BOOL = ReturnType("bool", "bool")
RESULT = ReturnType("enum", "enum result")


def errptr(errno: str) -> ReturnKind:
    return ReturnKind("errptr", errno)


def integer(value: str) -> ReturnKind:
    return ReturnKind("int", value)


def boolean(value: str) -> ReturnKind:
    return ReturnKind("bool", value)


def enum(name: str) -> ReturnKind:
    return ReturnKind("enum", name)


def contract(
    before: set[ReturnKind],
    after: set[ReturnKind],
    type_before: ReturnType = PAGE,
    type_after: ReturnType | None = None,
) -> Contract:
    """The contract of `f`, the watched function every caller below calls."""
    return Contract(
        "f",
        "mm/f.c",
        1,
        frozenset(before),
        frozenset(after),
        type_before,
        type_after or type_before,
    )


# NULL -> ERR_PTR(-ENOENT): the __filemap_get_folio() change
NULL_TO_ERRPTR = contract({NULL, UNKNOWN}, {errptr("-ENOENT"), UNKNOWN})
# a function that never failed now returns NULL
NEW_NULL = contract({POINTER}, {POINTER, NULL})
# 0 / -EBUSY -> true / false: what success is flipped
INT_TO_BOOL = contract(
    {integer("0"), integer("-EBUSY")}, {boolean("true"), boolean("false")}, INT, BOOL
)
NEW_ERRNO = contract(
    {integer("0"), integer("-ENOMEM")}, {integer("0"), integer("-ENOMEM"), integer("-EAGAIN")}, INT
)
NEW_CONSTANT = contract({enum("A"), enum("B")}, {enum("A"), enum("B"), enum("C")}, RESULT)


def audit(source: str, watched: Contract) -> dict[str, CallerSite]:
    """The one call site of each caller in `source`, by the caller's name."""
    parsed = parse_file("mm/callers.c", source.encode())
    derefs = {f.name: dereferenced_parameters(f.node) for f in parsed.functions}
    sites: dict[str, CallerSite] = {}
    for function in parsed.functions:
        analysis = CallerAnalysis(
            function.node, function.name, "mm/callers.c", {"f": watched}, derefs
        )
        analysis.run()
        found = analysis.finish()
        if found:
            assert len(found) == 1, f"{function.name} calls f() more than once"
            sites[function.name] = found[0]
    return sites


def site(source: str, watched: Contract) -> CallerSite:
    (only,) = audit(source, watched).values()
    return only


def outcomes(sites: dict[str, CallerSite]) -> dict[str, tuple[str, str, str | None]]:
    """Each caller's verdict, reason and the text of the finding's anchor."""
    return {
        name: (s.verdict, s.reason, s.anchor.text if s.anchor else None)
        for name, s in sites.items()
    }


def assert_unhandled(found: CallerSite, reason: str, anchor: str) -> None:
    assert (found.verdict, found.reason) == ("unhandled", reason), found.how
    assert found.anchor is not None
    assert found.anchor.text == anchor
    assert found.anchor in found.evidence


# -- NULL -> ERR_PTR ---------------------------------------------------------------------------


def test_a_null_test_lets_the_new_error_pointer_through_to_a_use() -> None:
    found = site(
        """
int grab(int x)
{
	struct page *p = f(x);

	if (!p)
		return -ENOMEM;
	use(p);
	return 0;
}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", "!p")
    assert (found.function, found.callee, found.line) == ("grab", "f", 4)
    assert found.anchor is not None and found.anchor.line == 6
    assert "ERR_PTR(-ENOENT)" in found.how and "use()" in found.how


@pytest.mark.parametrize(
    "test",
    ["!p", "p == NULL", "NULL == p", "!p || p->y"],
)
def test_every_spelling_of_a_null_test_is_the_anchor(test: str) -> None:
    found = site(
        f"""
int grab(int x)
{{
	struct page *p = f(x);

	if ({test})
		return -ENOMEM;
	p->x = 1;
	return 0;
}}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", test)


def test_tests_that_catch_error_pointers_handle_it() -> None:
    sites = audit(
        """
int either(int x)
{
	struct page *p = f(x);

	if (IS_ERR_OR_NULL(p))
		return -ENOMEM;
	use(p);
	return 0;
}

int is_err(int x)
{
	struct page *p = f(x);

	if (IS_ERR(p))
		return PTR_ERR(p);
	p->x = 1;
	return 0;
}

int or_zero(int x)
{
	struct page *p = f(x);
	int err;

	err = PTR_ERR_OR_ZERO(p);
	if (err)
		return err;
	p->x = 1;
	return 0;
}

int both(int x)
{
	struct page *p = f(x);

	if (!p)
		return -ENOMEM;
	if (IS_ERR(p))
		return PTR_ERR(p);
	p->x = 1;
	return 0;
}
""",
        NULL_TO_ERRPTR,
    )
    assert {name: (s.verdict, s.reason) for name, s in sites.items()} == {
        "either": ("handled", "tested"),
        "is_err": ("handled", "tested"),
        "or_zero": ("handled", "tested"),
        "both": ("handled", "tested"),
    }
    assert sites["either"].how == "tested: `IS_ERR_OR_NULL(p)`"


def test_an_ignored_result_is_handled() -> None:
    found = site("void drop(int x)\n{\n\tf(x);\n}\n", NULL_TO_ERRPTR)
    assert (found.verdict, found.reason) == ("handled", "ignored")
    assert found.anchor is None


def test_a_result_stored_where_the_analysis_does_not_follow_is_handled() -> None:
    found = site("void keep(struct s *s, int x)\n{\n\ts->page = f(x);\n}\n", NULL_TO_ERRPTR)
    assert (found.verdict, found.reason) == ("handled", "stored")


@pytest.mark.parametrize(
    "body",
    [
        "return f(x);",
        "struct page *p = f(x);\n\treturn p;",
        "struct page *p = f(x);\n\treturn &p->lru;",
    ],
    ids=["call", "variable", "member-address"],
)
def test_a_result_returned_as_it_is_passes_the_contract_on(body: str) -> None:
    found = site(f"struct page *wrapper(int x)\n{{\n\t{body}\n}}\n", NULL_TO_ERRPTR)
    assert (found.verdict, found.reason) == ("passes-on", "returns")
    assert found.anchor is None


def test_a_member_address_of_the_call_returned_passes_the_contract_on() -> None:
    found = site("struct page *wrapper(int x)\n{\n\treturn &f(x)->page;\n}\n", NULL_TO_ERRPTR)
    assert (found.verdict, found.reason) == ("passes-on", "returns")


def test_a_call_tested_in_the_condition_itself() -> None:
    found = site(
        """
int probe(int x)
{
	if (!f(x))
		return 1;
	return 0;
}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", "!f(x)")
    assert "the code after the test" in found.how


def test_an_assignment_tested_in_the_condition() -> None:
    found = site(
        """
int probe(int x)
{
	struct page *p;

	if (!(p = f(x)))
		return -ENOMEM;
	p->x = 1;
	return 0;
}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", "!(p = f(x))")


def test_a_branch_taken_when_the_pointer_is_set() -> None:
    found = site(
        """
void release(int x)
{
	struct page *p = f(x);

	if (p) {
		put(p);
	}
}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", "p")
    assert found.anchor is not None and found.anchor.note == "taken"
    assert "put()" in found.how


def test_a_copy_carries_the_value() -> None:
    found = site(
        """
int copy(int x)
{
	struct page *p = f(x);
	struct page *q = p;

	if (!q)
		return -ENOMEM;
	q->x = 1;
	return 0;
}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", "!q")


LOOPS = """
void on_break(int n)
{
	while (n--) {
		struct page *p = f(n);
		if (!p)
			break;
		p->x = 1;
	}
}

void on_continue(int n)
{
	while (n--) {
		struct page *p = f(n);
		if (!p)
			continue;
		p->x = 1;
	}
}

void both_tested(int n)
{
	while (n--) {
		struct page *p = f(n);
		if (IS_ERR_OR_NULL(p))
			continue;
		p->x = 1;
	}
}

int until_set(int x)
{
	struct page *p;

	for (;;) {
		p = f(x);
		if (p)
			break;
		x++;
	}
	p->x = 1;
	return 0;
}

int retry(int x)
{
	struct page *p;

	do {
		p = f(x);
	} while (!p);
	p->x = 1;
	return 0;
}
"""


def test_error_paths_out_of_loops() -> None:
    sites = audit(LOOPS, NULL_TO_ERRPTR)
    assert outcomes(sites) == {
        "on_break": ("unhandled", "test", "!p"),
        "on_continue": ("unhandled", "test", "!p"),
        "both_tested": ("handled", "tested", None),
        "until_set": ("unhandled", "test", "p"),
        "retry": ("unhandled", "test", "!p"),
    }


def test_a_while_loop_that_retries_until_the_pointer_is_set() -> None:
    found = site(
        """
int retry(int x)
{
	struct page *p;

	while (!(p = f(x)))
		x++;
	p->x = 1;
	return 0;
}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", "!(p = f(x))")


GOTOS = """
int to_fail(int x)
{
	struct page *p = f(x);

	if (!p)
		goto fail;
	p->x = 1;
	return 0;
fail:
	return -ENOMEM;
}

int to_found(int x)
{
	struct page *p = f(x);

	if (p)
		goto found;
	return -ENOMEM;
found:
	p->x = 1;
	return 0;
}

int is_err(int x)
{
	struct page *p = f(x);

	if (IS_ERR(p))
		goto fail;
	p->x = 1;
	return 0;
fail:
	return PTR_ERR(p);
}
"""


def test_error_paths_through_goto() -> None:
    sites = audit(GOTOS, NULL_TO_ERRPTR)
    assert outcomes(sites) == {
        "to_fail": ("unhandled", "test", "!p"),
        "to_found": ("unhandled", "test", "p"),
        "is_err": ("handled", "tested", None),
    }


@pytest.mark.parametrize("test", ["unlikely(!p)", "WARN_ON_ONCE(!p)"])
def test_a_null_test_inside_a_transparent_wrapper(test: str) -> None:
    found = site(
        f"""
int grab(int x)
{{
	struct page *p = f(x);

	if ({test})
		return -ENOMEM;
	p->x = 1;
	return 0;
}}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", test)


@pytest.mark.parametrize("test", ["unlikely(p == NULL)", "WARN_ON_ONCE(p == NULL)", "!likely(p)"])
def test_a_comparison_inside_a_transparent_wrapper(test: str) -> None:
    found = site(
        f"""
int grab(int x)
{{
	struct page *p = f(x);

	if ({test})
		return -ENOMEM;
	p->x = 1;
	return 0;
}}
""",
        NULL_TO_ERRPTR,
    )
    assert_unhandled(found, "test", test)


# -- a caller's older assumptions ------------------------------------------------------------


UNTESTED = """
void set(int x)
{
	struct page *p = f(x);

	p->x = 1;
}
"""


def test_a_dereference_the_caller_already_made_of_a_nullable_value_is_not_flagged() -> None:
    found = site(UNTESTED, NULL_TO_ERRPTR)
    assert found.verdict == "handled"
    assert found.anchor is None


def test_a_new_null_reaching_an_untested_dereference_is_flagged() -> None:
    found = site(UNTESTED, NEW_NULL)
    assert_unhandled(found, "deref", "p->x")
    assert found.anchor is not None and found.anchor.line == 6
    assert "NULL" in found.how


def test_a_new_null_checked_by_the_caller_already_is_handled() -> None:
    found = site(
        """
int set(int x)
{
	struct page *p = f(x);

	if (!p)
		return -ENOMEM;
	p->x = 1;
	return 0;
}
""",
        NEW_NULL,
    )
    assert (found.verdict, found.reason) == ("handled", "tested")


def test_a_new_null_passed_to_a_function_of_the_file_that_dereferences_it() -> None:
    sites = audit(
        """
static int reads(struct page *p)
{
	return p->x;
}

static int checks(struct page *p)
{
	if (!p)
		return 0;
	return p->x;
}

void to_reader(int x)
{
	struct page *p = f(x);

	reads(p);
}

void to_checker(int x)
{
	struct page *p = f(x);

	checks(p);
}
""",
        NEW_NULL,
    )
    assert (sites["to_reader"].verdict, sites["to_reader"].reason) == ("unhandled", "deref")
    assert "which dereferences it" in sites["to_reader"].how
    # a callee that tests it is still a use of the value as a valid one, not a dereference
    assert (sites["to_checker"].verdict, sites["to_checker"].reason) == ("unhandled", "use")


# -- int -> bool: success flipped --------------------------------------------------------------


def test_a_flipped_contract_marks_every_new_value_changed() -> None:
    assert INT_TO_BOOL.flipped
    assert all(t.changed for t in INT_TO_BOOL.tokens() if t.new)
    assert not NULL_TO_ERRPTR.flipped


FLIPPED = """
void skip(int n)
{
	int x;

	for (x = 0; x < n; x++) {
		if (f(x))
			continue;
		count(x);
	}
}

void add(struct list_head *head, struct item *item)
{
	if (!f(item->x)) {
		list_add(&item->list, head);
	}
}

void stored_test(struct list_head *head, struct item *item)
{
	bool ok = !f(item->x);

	if (ok)
		list_add(&item->list, head);
}

void assigned_test(struct list_head *head, struct item *item)
{
	bool ok;

	ok = !f(item->x);
	if (ok)
		list_add(&item->list, head);
}

int equals_zero(int x)
{
	if (f(x) == 0) {
		go();
		return 0;
	}
	return 1;
}

void ignore(int x)
{
	f(x);
}
"""


def test_callers_written_for_the_old_meaning_of_success() -> None:
    sites = audit(FLIPPED, INT_TO_BOOL)
    assert outcomes(sites) == {
        "skip": ("unhandled", "test", "f(x)"),
        "add": ("unhandled", "test", "!f(item->x)"),
        "stored_test": ("unhandled", "test", "ok"),
        "assigned_test": ("unhandled", "test", "ok"),
        "equals_zero": ("unhandled", "test", "f(x) == 0"),
        "ignore": ("handled", "ignored", None),
    }
    assert "true now gets through to a continue" in sites["skip"].how
    assert "false now gets through" in sites["add"].how


# -- a new errno ------------------------------------------------------------------------------


ERRNOS = """
int one_errno(int x)
{
	int ret = f(x);

	if (ret == -ENOMEM)
		return ret;
	do_success();
	return 0;
}

void falls_off(int x)
{
	int ret = f(x);

	if (ret == -ENOMEM)
		return;
	do_success();
}

int any_error(int x)
{
	int ret = f(x);

	if (ret)
		return ret;
	do_success();
	return 0;
}

int negative(int x)
{
	int ret = f(x);

	if (ret < 0)
		goto out;
	do_success();
out:
	return ret;
}

int both_errnos(int x)
{
	int ret = f(x);

	if (ret == -ENOMEM || ret == -EAGAIN)
		return ret;
	do_success();
	return 0;
}
"""


def test_a_new_errno_past_a_test_for_the_old_one() -> None:
    sites = audit(ERRNOS, NEW_ERRNO)
    assert outcomes(sites) == {
        "one_errno": ("unhandled", "test", "ret == -ENOMEM"),
        "falls_off": ("unhandled", "test", "ret == -ENOMEM"),
        "any_error": ("handled", "tested", None),
        "negative": ("handled", "tested", None),
        "both_errnos": ("handled", "tested", None),
    }
    assert "-EAGAIN now gets through to a return (line 9)" in sites["one_errno"].how
    assert "-EAGAIN now gets through to the end of the function" in sites["falls_off"].how


def test_an_octal_constant_in_a_comparison() -> None:
    found = site(
        """
int mode(int x)
{
	int ret = f(x);

	if (ret == 010)
		return 1;
	return 0;
}
""",
        NEW_ERRNO,
    )
    assert found.verdict in ("handled", "unhandled")


# -- a new enum constant ----------------------------------------------------------------------


def switch(default: str) -> str:
    return f"""
void dispatch(int x)
{{
	enum result r = f(x);

	switch (r) {{
	case A:
		one();
		break;
	case B:
		two();
		break;
{default}	}}
}}
"""


def test_a_switch_naming_every_old_constant_and_no_default() -> None:
    found = site(switch(""), NEW_CONSTANT)
    assert_unhandled(found, "switch", "switch (r)")
    assert found.anchor is not None and found.anchor.note == "cases A, B, no default"
    assert "none for C" in found.how


def test_a_switch_on_the_call_itself() -> None:
    source = switch("").replace("enum result r = f(x);", "").replace("switch (r)", "switch (f(x))")
    assert_unhandled(site(source, NEW_CONSTANT), "switch", "switch (f(x))")


def test_a_switch_with_a_default_handles_the_new_constant() -> None:
    found = site(switch("\tdefault:\n\t\tthree();\n"), NEW_CONSTANT)
    assert found.verdict == "handled"


# -- dereferenced parameters ------------------------------------------------------------------


def parameters(source: str) -> dict[str, frozenset[int]]:
    parsed = parse_file("mm/x.c", source.encode())
    return {f.name: dereferenced_parameters(f.node) for f in parsed.functions}


def test_dereferenced_parameters_are_those_read_before_any_test() -> None:
    assert parameters(
        """
int reads(struct page *p, int n)
{
	int y = p->x;

	if (!p)
		return 0;
	return y + n;
}

int tests(struct page *p)
{
	if (!p)
		return 0;
	return p->x;
}

int star(int n, struct page **pp)
{
	return **pp + n;
}

int none(void)
{
	return 0;
}
"""
    ) == {"reads": {0}, "tests": set(), "star": {1}, "none": set()}


# -- meanings and comparisons -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rtype", "expected"),
    [
        (NULL, PAGE, FAILURE),
        (errptr("-ENOENT"), PAGE, FAILURE),
        (POINTER, PAGE, SUCCESS),
        (UNKNOWN, PAGE, SUCCESS),
        (UNKNOWN, INT, NEUTRAL),
        (boolean("true"), BOOL, SUCCESS),
        (boolean("false"), BOOL, FAILURE),
        (integer("-EBUSY"), INT, FAILURE),
        (integer("0"), INT, SUCCESS),
        (enum("A"), RESULT, NEUTRAL),
    ],
)
def test_meaning(kind: ReturnKind, rtype: ReturnType, expected: str) -> None:
    kinds = frozenset({kind, integer("-EBUSY")})
    assert meaning(kind, rtype, kinds) == expected


def test_an_integer_means_nothing_when_the_function_returns_no_errno() -> None:
    assert meaning(integer("0"), INT, frozenset({integer("0"), integer("1")})) == NEUTRAL


@pytest.mark.parametrize(
    ("kind", "operator", "operand", "expected"),
    [
        (integer("-EAGAIN"), "==", "-ENOMEM", {False}),
        (integer("-EAGAIN"), "==", "-EAGAIN", {True}),
        (integer("-EAGAIN"), "<", "0", {True}),
        (integer("-EAGAIN"), ">=", "0", {False}),
        (integer("0"), "!=", "0", {False}),
        (integer("0"), "==", "-ENOMEM", {False}),
        (integer("-E*"), "<", "0", {True}),
        (NULL, "==", "NULL", {True}),
        (POINTER, "==", "NULL", {False}),
        (errptr("-ENOENT"), "!=", "NULL", {True}),
        (enum("C"), "==", "A", {False}),
        (UNKNOWN, "==", "0", {True, False}),
    ],
)
def test_compare(kind: ReturnKind, operator: str, operand: str, expected: set[bool]) -> None:
    token = Token(True, kind, NEUTRAL)
    assert _compare(token, operator, operand) == expected
