# C: a spine with top and bottom bars stepped like a curve; the lower tip turns up.
# ruff: noqa: F821, B007
drop_block("b31", 3)
drop_block("b11", 5)
drop_block("b31", 2)
drop_block("b11", 5)
for i in range(6):
    drop_block("b11", 1)
drop_block("b31", 2)
drop_block("b31", 4)
drop_block("b11", 2)
