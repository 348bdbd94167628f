# T: a three-column stem of b13 blocks under a seven-wide bar.
# ruff: noqa: F821, B007
for i in range(3):
    drop_block("b13", 3)
    drop_block("b13", 4)
    drop_block("b13", 5)
drop_block("b31", 2)
drop_block("b31", 6)
drop_block("b11", 4)
