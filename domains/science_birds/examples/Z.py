# Z: a bottom bar, a diagonal rising to the right, and a top bar on the diagonal's top.
# ruff: noqa: F821
drop_block("b31", 2)
drop_block("b31", 5)
drop_block("b11", 7)
drop_block("b11", 2)
drop_block("b31", 3)
drop_block("b11", 4)
drop_block("b31", 5)
drop_block("b11", 6)
drop_block("b11", 4)
drop_block("b31", 6)
drop_block("b31", 3)
