# S: bars at bottom, middle and top joined by pillars on alternate sides.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b11", 4)
drop_block("b11", 5)
drop_block("b11", 1)
for i in range(3):
    drop_block("b11", 5)
drop_block("b31", 4)
drop_block("b31", 2)
for i in range(3):
    drop_block("b11", 1)
drop_block("b31", 2)
drop_block("b31", 4)
