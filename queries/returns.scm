; returns.scm: what a function body returns and what its locals are set to, for the return
; contract of a function (reviewtool/analysis/contracts.py).
; Public captures: @return (a return statement's value), @local and @value (a local set by
; an initializer or an assignment, and what it is set to).
(return_statement (_) @return)

(init_declarator
  declarator: (identifier) @local
  value: (_) @value)

(init_declarator
  declarator: (pointer_declarator declarator: (identifier) @local)
  value: (_) @value)

(assignment_expression
  left: (identifier) @local
  operator: "="
  right: (_) @value)
