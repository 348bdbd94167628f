# E: two-column spine; middle arm clamped by the spine above; top arm = staggered b31s.
# ruff: noqa: F821
drop_block("b31", 3)
drop_block("b11", 5)
drop_block("b11", 6)
drop_block("b13", 2)
drop_block("b13", 3)
drop_block("b11", 2)
drop_block("b31", 4)
drop_block("b13", 2)
drop_block("b13", 3)
drop_block("b31", 3)
drop_block("b11", 2)
drop_block("b31", 4)
