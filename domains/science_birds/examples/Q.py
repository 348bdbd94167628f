# Q: an O raised on a beam whose end sticks out at the bottom right as the tail.
# ruff: noqa: F821, B007
drop_block("b31", 6)
drop_block("b31", 4)
drop_block("b31", 2)
drop_block("b31", 5)
for i in range(6):
    drop_block("b11", 1)
    drop_block("b11", 6)
drop_block("b31", 2)
drop_block("b31", 5)
drop_block("b31", 3)
drop_block("b11", 5)
