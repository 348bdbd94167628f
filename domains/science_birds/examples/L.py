# L: a b13 pillar on two ground beams.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b31", 5)
for i in range(3):
    drop_block("b13", 1)
