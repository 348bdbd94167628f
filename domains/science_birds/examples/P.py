# P: two-column stem with a b31 bracket under the bowl; the bowl's b31 carries its wall.
# ruff: noqa: F821
drop_block("b13", 2)
drop_block("b13", 3)
drop_block("b31", 3)
drop_block("b11", 2)
drop_block("b31", 4)
drop_block("b13", 2)
drop_block("b13", 3)
drop_block("b13", 5)
drop_block("b31", 3)
