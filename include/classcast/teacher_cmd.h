/* classcast: the `classcast teacher` command, which manages teacher
 * accounts in the state directory's database (include/classcast/store.h,
 * docs/accounts.md):
 *
 *   classcast teacher add NAME [--admin] [--display-name TEXT] [--random]
 *   classcast teacher passwd NAME [--random]
 *   classcast teacher list
 *   classcast teacher disable NAME
 *   classcast teacher enable NAME
 *
 * each with --state-dir DIR. A password is read twice from the terminal
 * without echo, or once (one line) from standard input when that is not a
 * terminal (scripts, tests); --random generates one, prints it once, and
 * makes its owner choose another at the first sign-in. Safe while the
 * server runs (SQLite WAL with a busy timeout).
 * Thread: the program's main thread. */
#ifndef CLASSCAST_TEACHER_CMD_H
#define CLASSCAST_TEACHER_CMD_H

/* argv[0] is "teacher". Returns the process exit code: 0, 1 (failed) or 2
 * (usage). */
int cc_teacher_cmd(int argc, char **argv);

#endif
