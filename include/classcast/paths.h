/* classcast: where the server keeps what must outlive a restart (teacher
 * accounts and sessions, the school CA and server certificate): the state
 * directory. `classcast serve --state-dir DIR` and `classcast teacher ...
 * --state-dir DIR` override the default; every user of the directory takes
 * the default from here, so they all agree on it.
 * Thread: any (reads the environment only). */
#ifndef CLASSCAST_PATHS_H
#define CLASSCAST_PATHS_H

#include <stddef.h>

#define CC_PATHS_MAX 1024

/* The default state directory: $XDG_STATE_HOME/classcast when that is an
 * absolute path, else $HOME/.local/state/classcast, else (a system
 * service running as root, with no home) /var/lib/classcast.
 * 0, CC_ENOTFOUND (no home to put it in) or CC_ENOSPC (cap too small). */
int cc_paths_state_dir(char *out, size_t cap);

/* Create dir and any missing parents; the directory itself gets mode 0700
 * when it is created (it holds password hashes and private keys). An
 * existing directory is left as it is. 0, CC_EINVAL or CC_EIO (errno set). */
int cc_paths_make_private_dir(const char *dir);

#endif
