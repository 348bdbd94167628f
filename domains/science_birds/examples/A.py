# A: two-column legs bridged by a b31 crossbar, narrowing to a b31 apex; stands up.
# ruff: noqa: F821
drop_block("b13", 1)
drop_block("b13", 2)
drop_block("b13", 4)
drop_block("b13", 5)
drop_block("b11", 1)
drop_block("b31", 3)
drop_block("b11", 5)
drop_block("b13", 2)
drop_block("b13", 4)
drop_block("b31", 3)
drop_block("b11", 3)
