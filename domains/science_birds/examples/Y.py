# Y: a stem with a beam on top and two arms stepping out from it.
# ruff: noqa: F821, B007
drop_block("b13", 4)
drop_block("b11", 4)
drop_block("b11", 4)
drop_block("b31", 4)
drop_block("b11", 3)
drop_block("b11", 5)
drop_block("b31", 2)
drop_block("b31", 6)
for i in range(2):
    drop_block("b11", 1)
    drop_block("b11", 7)
