# N: two pillars and a diagonal stepping down from the top left to the bottom right.
# ruff: noqa: F821, B007
drop_block("b31", 6)
drop_block("b11", 5)
drop_block("b11", 5)
drop_block("b31", 4)
drop_block("b11", 3)
drop_block("b11", 3)
for i in range(6):
    drop_block("b11", 1)
drop_block("b31", 2)
drop_block("b11", 2)
for i in range(3):
    drop_block("b11", 1)
for i in range(9):
    drop_block("b11", 7)
