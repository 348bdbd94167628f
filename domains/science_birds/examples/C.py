# C: two-column spine; top arm = staggered b31s held by a corner block; bottom on a step.
# ruff: noqa: F821
drop_block("b31", 4)
drop_block("b11", 6)
drop_block("b31", 3)
drop_block("b11", 2)
drop_block("b11", 3)
drop_block("b13", 2)
drop_block("b13", 3)
drop_block("b31", 3)
drop_block("b11", 2)
drop_block("b31", 4)
