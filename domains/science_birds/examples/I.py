# I: a pillar of b13 blocks between two b31 serifs.
# ruff: noqa: F821, B007
drop_block("b31", 2)
for i in range(3):
    drop_block("b13", 2)
drop_block("b31", 2)
