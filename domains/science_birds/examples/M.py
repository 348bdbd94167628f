# M: two outer pillars and a V down to a central stem.
# ruff: noqa: F821, B007
drop_block("b13", 4)
drop_block("b31", 4)
drop_block("b13", 3)
drop_block("b13", 5)
for i in range(7):
    drop_block("b11", 1)
    drop_block("b11", 7)
drop_block("b31", 2)
drop_block("b31", 6)
for i in range(2):
    drop_block("b11", 1)
    drop_block("b11", 2)
    drop_block("b11", 6)
    drop_block("b11", 7)
