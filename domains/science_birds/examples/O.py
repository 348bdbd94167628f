# O: a ring: bars of beams top and bottom with stepped corners, pillars at the sides.
# ruff: noqa: F821, B007
drop_block("b31", 3)
drop_block("b11", 5)
drop_block("b31", 2)
drop_block("b31", 5)
for i in range(6):
    drop_block("b11", 1)
    drop_block("b11", 6)
drop_block("b31", 2)
drop_block("b31", 5)
drop_block("b31", 3)
drop_block("b11", 5)
