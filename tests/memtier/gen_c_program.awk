# Generates a C program with FUNCS functions (switches, loops, tables, string
# literals, structs) whose main prints one checksum line per 100 functions.
# Used to give gcc (cc1, as, ld) real allocation work in the libmemtier tests.
#   awk -v funcs=1500 -f gen_c_program.awk > prog.c
BEGIN {
    if (funcs == "") funcs = 1500
    print "#include <stdio.h>\n#include <string.h>\n#include <stdint.h>\n"
    print "struct rec { uint32_t a, b; const char *name; double w; };\n"
    for (f = 0; f < funcs; f++) {
        printf "static const struct rec tab_%d[] = {\n", f
        for (j = 0; j < 8; j++)
            printf "    { %uu, %uu, \"f%d_e%d_%x\", %d.%02d },\n", (f * 131 + j * 17) % 65521, (f * 7 + j) % 977, f, j, f * j + 3, j, f % 100
        print "};"
        printf "static uint32_t fn_%d(uint32_t x) {\n    uint32_t acc = %du;\n", f, f * 2654435761 % 4294967296
        printf "    for (unsigned i = 0; i < sizeof tab_%d / sizeof tab_%d[0]; i++) {\n", f, f
        printf "        acc = acc * 31u + tab_%d[i].a + (uint32_t)strlen(tab_%d[i].name);\n", f, f
        printf "        switch ((x + i) %% 7u) {\n"
        for (c = 0; c < 7; c++)
            printf "        case %d: acc ^= (x << %d) + tab_%d[i].b * %du; break;\n", c, (c * 3 + f) % 29 + 1, f, c + f % 13 + 1
        print "        }\n        if (tab_" f "[i].w > " (f % 7) ".5) acc += (uint32_t)(tab_" f "[i].w * 16.0);\n    }"
        printf "    return acc ^ (x >> %d);\n}\n\n", f % 17 + 1
    }
    print "int main(void) {\n    uint32_t sum = 0;"
    for (f = 0; f < funcs; f++) {
        printf "    sum = sum * 33u + fn_%d(sum + %du);\n", f, f
        if (f % 100 == 99 || f == funcs - 1)
            printf "    printf(\"after %d: %%08x\\n\", (unsigned)sum);\n", f + 1
    }
    print "    return 0;\n}"
}
