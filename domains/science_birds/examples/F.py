# F: a two-column spine with two bars resting on it.
# ruff: noqa: F821, B007
for i in range(4):
    drop_block("b11", 1)
    drop_block("b11", 2)
drop_block("b31", 3)
drop_block("b11", 1)
for i in range(3):
    drop_block("b11", 1)
    drop_block("b11", 2)
drop_block("b31", 3)
drop_block("b11", 1)
