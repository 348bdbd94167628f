# G: a C whose lower right side rises to an inward-pointing beam.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b31", 5)
for i in range(3):
    drop_block("b11", 6)
drop_block("b31", 5)
for i in range(7):
    drop_block("b11", 1)
drop_block("b31", 2)
drop_block("b31", 4)
drop_block("b11", 1)
drop_block("b11", 2)
drop_block("b11", 6)
