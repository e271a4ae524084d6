/* QR codes as SVG (see include/classcast/qr.h). */
#include "classcast/qr.h"

#include <glib.h>
#include <qrencode.h>
#include <string.h>

#include "classcast/err.h"

#define QUIET 4 /* modules of light margin on each side */

int cc_qr_svg(const char *text, char **svg_out)
{
    *svg_out = NULL;
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > CC_QR_MAX_TEXT)
        return CC_EINVAL;
    /* 8-bit mode for the whole text (URLs with lower case letters do not
     * fit alphanumeric mode), the smallest version that holds it. */
    QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!q)
        return CC_EINVAL;
    int size = q->width + 2 * QUIET;
    GString *s = g_string_sized_new(8192);
    g_string_append_printf(s,
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                           "shape-rendering=\"crispEdges\">"
                           "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                           size, size, size, size);
    /* Bit 0 of each module byte is "dark" (qrencode.h); runs of dark
     * modules in a row become one rectangle. */
    for (int y = 0; y < q->width; y++) {
        for (int x = 0; x < q->width;) {
            if (!(q->data[y * q->width + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < q->width && (q->data[y * q->width + x + run] & 1))
                run++;
            g_string_append_printf(s, "M%d %dh%dv1h-%dz", x + QUIET, y + QUIET, run, run);
            x += run;
        }
    }
    g_string_append(s, "\"/></svg>\n");
    QRcode_free(q);
    *svg_out = g_string_free(s, FALSE);
    return *svg_out ? 0 : CC_ENOMEM;
}
