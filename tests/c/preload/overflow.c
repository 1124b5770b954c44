/* Under the interposer with DRAM and a small file tier (PMEM_SIZE_LIMIT): allocating far
 * more than the file tier holds still succeeds, the data survives, and the file tier
 * reports the requests it handed on (run.sh checks "overflowed=" in the summary). */
#include <stdlib.h>
#include <string.h>

#include "../../harness/check.h"

int main(void)
{
    enum { N = 96, SIZE = 1 << 20 };
    static unsigned char *blocks[N];
    STEP("96 MiB in 1 MiB blocks with a 16 MiB file tier");
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i + 1, SIZE);
    }
    STEP("every block keeps its contents");
    for (int i = 0; i < N; i++) {
        int ok = blocks[i][0] == (unsigned char)(i + 1) && blocks[i][SIZE - 1] == (unsigned char)(i + 1);
        CHECK(ok);
        free(blocks[i]);
    }
    return finish();
}
