# V: two arms stepping out from a bottom beam, two b11 and one b31 at a time.
# ruff: noqa: F821
drop_block("b31", 7)
for k in range(3):
    drop_block("b11", 6 - 2 * k)
    drop_block("b11", 6 - 2 * k)
    drop_block("b11", 8 + 2 * k)
    drop_block("b11", 8 + 2 * k)
    drop_block("b31", 5 - 2 * k)
    drop_block("b31", 9 + 2 * k)
drop_block("b11", 1)
drop_block("b11", 13)
