# U: two b13 pillars on a bottom bar.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b11", 4)
drop_block("b11", 5)
for i in range(3):
    drop_block("b13", 1)
    drop_block("b13", 5)
