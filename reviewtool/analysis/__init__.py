"""Analysis: the series checks, and the tree audit of contract rules (call sites, verdicts, the
case analysis, the C source layer, the rules)."""
