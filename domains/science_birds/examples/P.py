# P: a spine with a stepped bowl at the top.
# ruff: noqa: F821, B007
for i in range(5):
    drop_block("b11", 1)
drop_block("b31", 2)
drop_block("b31", 4)
drop_block("b11", 5)
drop_block("b11", 5)
drop_block("b31", 4)
for i in range(4):
    drop_block("b11", 1)
drop_block("b31", 2)
