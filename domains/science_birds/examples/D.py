# D: a spine and a bowl whose corners step in with overlapping b31 beams.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b31", 4)
for i in range(6):
    drop_block("b11", 5)
for i in range(7):
    drop_block("b11", 1)
drop_block("b31", 4)
drop_block("b31", 2)
