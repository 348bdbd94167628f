# T: a b13 stem under a three-row bar of staggered b31s balanced over the stem.
# ruff: noqa: F821
drop_block("b13", 4)
drop_block("b13", 4)
drop_block("b31", 4)
drop_block("b31", 3)
drop_block("b11", 5)
drop_block("b31", 5)
