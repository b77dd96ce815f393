"""Return kinds and result summaries."""

from __future__ import annotations

from reviewtool.analysis.returns import (
    ANY,
    NONZERO,
    ZERO,
    Kind,
    compare,
    constant,
    summarise,
    truth,
)


def test_constants() -> None:
    assert constant("-EIO") == Kind("const", "-EIO")
    assert constant(" 0 ") == ZERO
    assert constant("(NULL)") == Kind("const", "NULL")
    assert constant("VM_FAULT_OOM") == Kind("const", "VM_FAULT_OOM")
    assert constant("ret") is None and constant("f(x)") is None
    assert Kind("const", "-EWOULDBLOCK").errno == "EAGAIN"


def test_truth_and_comparisons() -> None:
    eio, ebusy = Kind("const", "-EIO"), Kind("const", "-EBUSY")
    assert truth(ZERO) == {False} and truth(eio) == {True} and truth(NONZERO) == {True}
    assert truth(ANY) == {True, False} and truth(Kind("const", "VM_FAULT_OOM")) == {True, False}
    assert compare(eio, "==", eio) == {True}
    assert compare(ebusy, "==", eio) == {False}
    assert compare(ebusy, "!=", eio) == {True}
    assert compare(ZERO, "==", eio) == {False}
    assert compare(eio, "<", ZERO) == {True}
    assert compare(Kind("const", "1"), ">=", ZERO) == {True}
    assert compare(NONZERO, "==", ZERO) == {False}
    assert compare(ANY, "==", eio) == {True, False}


def test_summary_keeps_per_kind_cases_and_unconstrained_keys() -> None:
    summary = summarise(
        "copy_nonpresent_pte",
        "mm/memory.c",
        ["dst", "src_pte"],
        [
            (frozenset({Kind("const", "-EIO")}), {"*src_pte": frozenset({"swap"})}),
            (frozenset({ZERO}), {"*src_pte": frozenset({"swap", "marker"})}),
            (frozenset({ZERO}), {}),  # a return that constrains nothing
            (frozenset({Kind("const", "-EBUSY")}), {"*src_pte": frozenset({"device"})}),
        ],
    )
    assert summary.informative

    def equals_eio(kind: Kind) -> frozenset[bool]:
        return compare(kind, "==", Kind("const", "-EIO"))

    assert summary.allowed(equals_eio, True) == {"*src_pte": frozenset({"swap"})}
    assert summary.allowed(equals_eio, False) == {"*src_pte": None}  # 0 constrains nothing
    assert summary.allowed(truth, True) == {"*src_pte": frozenset({"swap", "device"})}
