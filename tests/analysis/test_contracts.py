"""Return contracts read from function bodies, and what a patch changes in them."""

from __future__ import annotations

import pytest

from reviewtool.analysis.contracts import (
    NULL,
    POINTER,
    UNKNOWN,
    ReturnKind,
    contract_changes,
    describe,
    return_type,
    summarise,
)
from reviewtool.analysis.csource import parse_file


def functions(source: str) -> dict[str, object]:
    parsed = parse_file("mm/x.c", source.encode())
    return {f.name: f.node for f in parsed.functions}


def kinds(source: str, name: str) -> frozenset[ReturnKind]:
    return summarise(functions(source))[name]  # type: ignore[arg-type]


def errptr(errno: str) -> ReturnKind:
    return ReturnKind("errptr", errno)


def integer(value: str) -> ReturnKind:
    return ReturnKind("int", value)


def test_locals_conditionals_and_goto_exits() -> None:
    source = """
struct page *grab(struct mapping *m, int flags)
{
	struct page *page = NULL;
	int err = -ENOMEM;

	if (flags & 1)
		goto out;
	page = find_page(m);
	if (!page) {
		err = -EAGAIN;
		goto fail;
	}
	return flags & 2 ? page : NULL;
fail:
	return ERR_PTR(err);
out:
	return page;
}
"""
    assert kinds(source, "grab") == {NULL, UNKNOWN, errptr("-ENOMEM"), errptr("-EAGAIN")}


def test_integer_results_errnos_and_negated_locals() -> None:
    source = """
static int setup(int x)
{
	int ret = 0;

	if (x < 0)
		ret = -EINVAL;
	else if (x > 10)
		return -E2BIG;
	return ret;
}
"""
    assert kinds(source, "setup") == {integer("0"), integer("-EINVAL"), integer("-E2BIG")}


def test_bool_enum_and_return_types() -> None:
    source = """
bool ready(int x) { return x ? true : false; }
enum fault_result check(int x)
{
	if (x)
		return FAULT_RETRY;
	return FAULT_OK;
}
static inline struct folio **slot(int x) { return 0; }
"""
    assert kinds(source, "ready") == {ReturnKind("bool", "true"), ReturnKind("bool", "false")}
    assert kinds(source, "check") == {
        ReturnKind("enum", "FAULT_RETRY"),
        ReturnKind("enum", "FAULT_OK"),
    }
    parsed = functions(source)
    assert return_type(parsed["slot"]).kind == "pointer"  # type: ignore[arg-type]
    assert return_type(parsed["ready"]).kind == "bool"  # type: ignore[arg-type]
    assert return_type(parsed["check"]).kind == "enum"  # type: ignore[arg-type]


def test_pass_through_wrappers_and_derived_pointers_carry_the_contract() -> None:
    source = """
struct folio *folio_get_new(struct mapping *m)
{
	if (!m)
		return ERR_PTR(-ENOENT);
	return m->folio;
}

static inline struct folio *folio_get_wrapped(struct mapping *m)
{
	return folio_get_new(m);
}

struct page *page_get(struct mapping *m)
{
	struct folio *folio = folio_get_wrapped(m);

	return &folio->page;
}

int page_get_err(struct mapping *m)
{
	return PTR_ERR_OR_ZERO(page_get(m));
}
"""
    summaries = summarise(functions(source))  # type: ignore[arg-type]
    expected = {errptr("-ENOENT"), POINTER}
    assert summaries["folio_get_new"] == expected
    assert summaries["folio_get_wrapped"] == expected
    assert summaries["page_get"] == expected
    assert summaries["page_get_err"] == {integer("-ENOENT"), integer("0")}


BEFORE_NULL = """
struct page *lookup(struct mapping *m, unsigned long index)
{
	struct page *page = radix_lookup(m, index);

	if (!page)
		return NULL;
	return page;
}
"""
AFTER_ERR_PTR = BEFORE_NULL.replace("return NULL;", "return ERR_PTR(-ENOENT);")


@pytest.mark.parametrize(
    ("before", "after", "added", "text"),
    [
        (
            BEFORE_NULL,
            AFTER_ERR_PTR,
            {errptr("-ENOENT")},
            "lookup() can now return ERR_PTR(-ENOENT)",
        ),
        (
            "static int charge(int x)\n{\n\tif (x)\n\t\treturn -ENOMEM;\n\treturn 0;\n}\n",
            "static int charge(int x)\n{\n\tif (x > 1)\n\t\treturn -EINTR;\n"
            "\tif (x)\n\t\treturn -ENOMEM;\n\treturn 0;\n}\n",
            {integer("-EINTR")},
            "charge() can now return -EINTR",
        ),
        (
            "enum res try(int x)\n{\n\treturn x ? RES_FAIL : RES_OK;\n}\n",
            "enum res try(int x)\n{\n\tif (x < 0)\n\t\treturn RES_AGAIN;\n"
            "\treturn x ? RES_FAIL : RES_OK;\n}\n",
            {ReturnKind("enum", "RES_AGAIN")},
            "try() can now return RES_AGAIN",
        ),
    ],
)
def test_a_patch_that_adds_a_kind_changes_the_contract(
    before: str, after: str, added: set[ReturnKind], text: str
) -> None:
    (change,) = contract_changes(functions(before), functions(after), "mm/x.c")  # type: ignore[arg-type]
    assert change.added == added
    assert change.describe() == text


def test_a_success_flip_is_a_changed_meaning() -> None:
    before = "int isolate(struct page *p)\n{\n\tif (busy(p))\n\t\treturn -EBUSY;\n\treturn 0;\n}\n"
    after = (
        "bool isolate(struct page *p)\n{\n\tif (busy(p))\n\t\treturn false;\n\treturn true;\n}\n"
    )
    (change,) = contract_changes(functions(before), functions(after), "mm/x.c")  # type: ignore[arg-type]
    assert change.meaning_changed
    assert change.describe() == "isolate() now returns bool (false, true), was int (-EBUSY, 0)"


def test_no_change_where_the_kinds_stay_and_new_functions_have_no_contract_to_change() -> None:
    moved = BEFORE_NULL.replace("\tif (!page)", "\t/* not found */\n\tif (!page)")
    assert contract_changes(functions(BEFORE_NULL), functions(moved), "mm/x.c") == []  # type: ignore[arg-type]
    fresh = BEFORE_NULL + "int fresh(void) { return -EIO; }\n"
    assert contract_changes(functions(BEFORE_NULL), functions(fresh), "mm/x.c") == []  # type: ignore[arg-type]
    assert (
        describe(frozenset({NULL, POINTER, errptr("-EIO")}))
        == "NULL, ERR_PTR(-EIO), a valid pointer"
    )
