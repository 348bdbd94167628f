# E: a two-column spine with three bars resting on it.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b11", 4)
drop_block("b11", 5)
for i in range(3):
    drop_block("b11", 1)
    drop_block("b11", 2)
drop_block("b31", 3)
drop_block("b11", 1)
for i in range(3):
    drop_block("b11", 1)
    drop_block("b11", 2)
drop_block("b31", 3)
drop_block("b11", 1)
