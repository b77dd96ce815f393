; functions.scm: function definitions and their names, including pointer-returning ones.
; Public captures: @function (the function_definition), @name (its identifier).
(function_definition
  declarator: (function_declarator
    declarator: (identifier) @name)) @function

(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (identifier) @name))) @function
