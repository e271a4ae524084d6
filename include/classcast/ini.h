/* classcast: the configuration file's syntax, an INI dialect small enough to
 * describe in five lines (docs/config.md):
 *   [section]            a section name: letters, digits, '-' and '_'
 *   key = value          a key of the same characters; the value runs to
 *                        the end of the line, surrounding spaces dropped
 *   key = "value"        quotes keep spaces; \" and \\ inside them
 *   # comment, ; comment whole lines only (a value may contain '#')
 * UTF-8 text; a key before any section is in section "". Pure: text in,
 * entries out, each with its line number so a caller can say where a bad
 * value is. Hand-written: GLib's GKeyFile does not report the line of a
 * key, which a person fixing a typo needs.
 * Thread: any (no state). */
#ifndef CLASSCAST_INI_H
#define CLASSCAST_INI_H

#include <stddef.h>

#define CC_INI_NAME_MAX 63     /* section and key names */
#define CC_INI_VALUE_MAX 1023  /* a value */
#define CC_INI_LINE_MAX 4096   /* a whole line */
#define CC_INI_MAX_ENTRIES 512

typedef struct cc_ini_entry {
    char section[CC_INI_NAME_MAX + 1];
    char key[CC_INI_NAME_MAX + 1];
    char value[CC_INI_VALUE_MAX + 1];
    int line;                  /* 1-based */
} cc_ini_entry;

/* Parses len bytes of text. 0 with *out (malloc'd array, free with
 * free()) and *n; or CC_EINVAL with *err_line (the 1-based line, 0 for the
 * whole file) and err (what is wrong, in English) and nothing allocated.
 * A key given twice in one section is an error (which one would win is
 * not obvious to a person). */
int cc_ini_parse(const char *text, size_t len, cc_ini_entry **out, int *n,
                 int *err_line, char *err, size_t errcap);

#endif
