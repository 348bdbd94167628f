# R: a P whose leg steps down to the right under the bowl.
# ruff: noqa: F821, B007
drop_block("b11", 5)
drop_block("b11", 5)
drop_block("b31", 4)
drop_block("b11", 3)
drop_block("b11", 3)
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
