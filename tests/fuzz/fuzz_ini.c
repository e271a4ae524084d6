/* libFuzzer target for src/base/ini.c, the configuration file syntax.
 * Invariants: success yields entries whose names hold only name characters
 * and whose lines are increasing; failure names a line within the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/ini.h"

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_ini_entry *e = NULL;
    int n = 0, line = 0;
    char err[160];
    int rc = cc_ini_parse((const char *)data, size, &e, &n, &line, err, sizeof err);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (rc == 0) {
        INVARIANT(n >= 0 && n <= CC_INI_MAX_ENTRIES);
        for (int i = 0; i < n; i++) {
            INVARIANT(e[i].key[0] != 0);
            INVARIANT(strlen(e[i].value) <= CC_INI_VALUE_MAX);
            INVARIANT(e[i].line >= 1 && (size_t)e[i].line <= lines);
            if (i > 0)
                INVARIANT(e[i].line > e[i - 1].line);
        }
        free(e);
    } else {
        INVARIANT(e == NULL);
        INVARIANT(line >= 0 && (size_t)line <= lines);
        INVARIANT(memchr(err, 0, sizeof err) != NULL);
    }
    return 0;
}
