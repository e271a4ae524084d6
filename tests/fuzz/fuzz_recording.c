/* libFuzzer target for the recordings API's parsers (src/signal/recording.c):
 * any bytes as a path (cc_recordings_route: a route names a positive id
 * only for the file and item endpoints, and what it accepts is exactly one
 * of the four shapes) and as a Range header (cc_recordings_range: a part
 * always lies inside the file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/recording.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    if (size >= sizeof path)
        size = sizeof path - 1;
    memcpy(path, data, size);
    path[size] = 0;
    int64_t id = -1;
    int r = cc_recordings_route(path, &id);
    CHECK(r >= -1 && r <= CC_RECROUTE_ITEM);
    char want[64];
    switch (r) {
    case CC_RECROUTE_LIST:
        CHECK(strcmp(path, "/api/recordings") == 0 && id == 0);
        break;
    case CC_RECROUTE_SETTINGS:
        CHECK(strcmp(path, "/api/recordings/settings") == 0 && id == 0);
        break;
    case CC_RECROUTE_FILE:
    case CC_RECROUTE_ITEM:
        CHECK(id > 0 && id < ((int64_t)1 << 53));
        snprintf(want, sizeof want, "/api/recordings/%lld%s", (long long)id,
                 r == CC_RECROUTE_FILE ? ".webm" : "");
        /* leading zeros are the one other spelling */
        if (strcmp(path, want) != 0)
            CHECK(strncmp(path, "/api/recordings/0", 17) == 0);
        break;
    default:
        CHECK(id == 0);
        break;
    }
    (void)cc_recordings_is_api(path);
    /* the same bytes as a Range header, for files of a few sizes */
    static const uint64_t sizes[] = {0, 1, 1000, (uint64_t)1 << 40};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t off = 7, len = 7;
        int p = cc_recordings_range(path, sizes[i], &off, &len);
        CHECK(p >= -1 && p <= 1);
        if (p == 1)
            CHECK(len > 0 && off < sizes[i] && len <= sizes[i] - off);
        else
            CHECK(off == 0 && len == 0);
    }
    return 0;
}
