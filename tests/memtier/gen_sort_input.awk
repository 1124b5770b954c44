# Deterministic input for the sort test: N lines (default 100 MB worth) of
# "KEY WORD NUMBER" built from a MINSTD generator (48271 * x mod 2^31-1 is exact
# in awk's doubles, so every awk produces the same bytes).
#   awk -v bytes=104857600 -f gen_sort_input.awk > input
BEGIN {
    if (bytes == "") bytes = 104857600
    x = 20261122
    m = 2147483647
    split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima " \
          "mike november oscar papa quebec romeo sierra tango uniform victor whiskey " \
          "xray yankee zulu", w, " ")
    total = 0
    while (total < bytes) {
        x = (x * 48271) % m; a = x
        x = (x * 48271) % m; b = x
        x = (x * 48271) % m; c = x
        line = sprintf("%010d %s%s %d", a, w[b % 26 + 1], w[c % 26 + 1], (a + b) % 100000)
        print line
        total += length(line) + 1
    }
}
