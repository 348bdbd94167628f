# W: two Vs side by side, their inner arms meeting in a low bridge.
# ruff: noqa: F821, B007
drop_block("b31", 5)
drop_block("b31", 11)
for i in range(2):
    drop_block("b11", 4)
    drop_block("b11", 6)
    drop_block("b11", 10)
    drop_block("b11", 12)
drop_block("b31", 3)
drop_block("b31", 13)
drop_block("b31", 7)
drop_block("b11", 10)
drop_block("b31", 9)
for i in range(6):
    drop_block("b11", 2)
    drop_block("b11", 14)
