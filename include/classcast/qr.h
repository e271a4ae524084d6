/* classcast: QR codes of the links a teacher hands out (the student link, a
 * school's invite), so tablets join by scanning the projected code.
 * libqrencode does the encoding; this module only draws its modules as SVG.
 * Pure: no I/O. Thread: any. */
#ifndef CLASSCAST_QR_H
#define CLASSCAST_QR_H

#include <stddef.h>

/* Longest text encoded (a link with an invite token is ~120 bytes). */
#define CC_QR_MAX_TEXT 512

/* An SVG image (malloc'd, NUL-terminated) of `text` as a QR code with
 * error correction level M and a 4-module quiet zone (ISO/IEC 18004
 * section 6.3.8). 0, CC_EINVAL (empty, too long, or not encodable),
 * CC_ENOMEM. */
int cc_qr_svg(const char *text, char **svg_out);

#endif
