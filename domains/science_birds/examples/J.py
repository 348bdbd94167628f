# J: a b13 stem on a bottom beam, a short hook on the left and a top serif.
# ruff: noqa: F821, B007
drop_block("b31", 2)
drop_block("b11", 1)
drop_block("b11", 1)
for i in range(3):
    drop_block("b13", 3)
drop_block("b31", 3)
