# J: a two-column b13 stem on a b31 floor whose left end lifts into a hook.
# ruff: noqa: F821
drop_block("b31", 4)
drop_block("b11", 6)
drop_block("b11", 7)
drop_block("b31", 3)
drop_block("b31", 6)
drop_block("b11", 2)
drop_block("b13", 6)
drop_block("b13", 7)
drop_block("b13", 6)
drop_block("b13", 7)
drop_block("b11", 6)
drop_block("b11", 7)
