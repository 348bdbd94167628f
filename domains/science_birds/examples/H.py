# H: two-column b13 pillars joined by a b31 crossbar bridging the gap; stands up.
# ruff: noqa: F821
for c in [1, 2, 4, 5]:
    drop_block("b13", c)
    drop_block("b11", c)
    drop_block("b11", c)
drop_block("b11", 1)
drop_block("b31", 3)
drop_block("b11", 5)
for c in [1, 2, 4, 5]:
    drop_block("b13", c)
    drop_block("b11", c)
    drop_block("b11", c)
