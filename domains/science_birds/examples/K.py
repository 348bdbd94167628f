# K: a spine with two arms stepping out from its middle, b31 and b11 in turn.
# ruff: noqa: F821, B007
drop_block("b13", 1)
drop_block("b11", 1)
drop_block("b11", 6)
drop_block("b31", 5)
drop_block("b11", 4)
drop_block("b31", 3)
drop_block("b11", 2)
drop_block("b31", 3)
drop_block("b11", 4)
drop_block("b31", 5)
drop_block("b11", 6)
for i in range(5):
    drop_block("b11", 1)
