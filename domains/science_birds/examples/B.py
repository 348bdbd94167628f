# B: a spine and two D-shaped bowls whose corners step in with overlapping b31 beams.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b31", 4)
for i in range(4):
    drop_block("b11", 1)
for i in range(2):
    drop_block("b11", 5)
drop_block("b31", 4)
drop_block("b31", 2)
drop_block("b31", 4)
for i in range(2):
    drop_block("b11", 5)
drop_block("b31", 4)
for i in range(4):
    drop_block("b11", 1)
drop_block("b31", 2)
