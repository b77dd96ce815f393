// Inventory: every call of is_swap_pte(...) and pte_to_swp_entry(...), one line per call:
//
//     CALL <callee> <file>:<line>:<function>
//
// <file> is relative to the current directory (run spatch from the top of the tree);
// <function> is the enclosing function ("something_else" outside a function body). Compare
// with `git grep -nw -e is_swap_pte -e pte_to_swp_entry`, which also finds the definitions,
// comments, and calls in macro bodies or code that spatch cannot parse.
//
//     spatch --sp-file callsites.cocci --dir . --include-headers --no-includes --use-gitgrep --very-quiet --jobs 2
//
// or faster, on a file list from git grep: see run.sh and README.md.

@initialize:python@
@@
import os

def call(name, p):
    for q in p:
        print("CALL %s %s:%s:%s" % (name, os.path.relpath(q.file), q.line, q.current_element))

// The callees are spelled out, not an `identifier f = {...}` set: spatch's file prefilter
// (--use-gitgrep, --use-idutils) only knows literal tokens, and with a set it parses every file
// of the tree.
@swap_pte@
expression list args;
position p;
@@
is_swap_pte@p(args)

@script:python@
p << swap_pte.p;
@@
call("is_swap_pte", p)

@to_entry@
expression list args;
position p;
@@
pte_to_swp_entry@p(args)

@script:python@
p << to_entry.p;
@@
call("pte_to_swp_entry", p)
