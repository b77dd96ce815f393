; calls.scm: calls of a named function, `name(args)`.
; Public captures: @call (the call_expression), @callee (the function's identifier),
; @arguments (the argument_list).
(call_expression
  function: (identifier) @callee
  arguments: (argument_list) @arguments) @call
