; declarations.scm: every declaration in a subtree (a function's body, its nested blocks).
; Public captures: @declaration (the declaration). The type layer reads the names and types
; each declares; a query finds them in C, faster than a Python walk over every node.
(declaration) @declaration
