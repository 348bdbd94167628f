# G: a C whose bottom arm turns up as a two-column b13 stub with an inward b31 bar.
# ruff: noqa: F821
drop_block("b31", 4)
drop_block("b13", 6)
drop_block("b13", 7)
drop_block("b31", 3)
drop_block("b13", 2)
drop_block("b13", 3)
drop_block("b31", 6)
drop_block("b11", 2)
drop_block("b11", 3)
drop_block("b31", 3)
drop_block("b11", 2)
drop_block("b31", 4)
