/* The state directory (see include/classcast/paths.h). */
#include "classcast/paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classcast/err.h"

int cc_paths_state_dir(char *out, size_t cap)
{
    /* XDG Base Directory Specification: $XDG_STATE_HOME holds state that
     * should persist between restarts; a relative path there is invalid
     * and must be ignored. */
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (x && x[0] == '/')
        n = snprintf(out, cap, "%s/classcast", x);
    else if (home && home[0])
        n = snprintf(out, cap, "%s/.local/state/classcast", home);
    else if (geteuid() == 0)
        n = snprintf(out, cap, "/var/lib/classcast"); /* a system service */
    else
        return CC_ENOTFOUND;
    return n < 0 || (size_t)n >= cap ? CC_ENOSPC : 0;
}

int cc_paths_make_private_dir(const char *dir)
{
    char buf[CC_PATHS_MAX];
    size_t n = dir ? strlen(dir) : 0;
    if (n == 0 || n >= sizeof buf)
        return CC_EINVAL;
    memcpy(buf, dir, n + 1);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = 0;
    /* Parents as an ordinary `mkdir -p` makes them (umask applies), the
     * directory itself private. */
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            *p = '/';
            return CC_EIO;
        }
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return CC_EIO;
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return CC_EIO;
    }
    return 0;
}
