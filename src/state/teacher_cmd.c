/* `classcast teacher ...`: teacher accounts from the command line (see
 * include/classcast/teacher_cmd.h). Passwords never appear in the log or
 * on the screen, except a generated one, printed once. */
#include "classcast/teacher_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/paths.h"
#include "classcast/pwhash.h"
#include "classcast/store.h"

#define PROG "classcast teacher"
/* Characters of a generated password (80 bits, include/classcast/pwhash.h). */
#define RANDOM_PW_LEN 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: classcast teacher <command> [options]\n"
            "\n"
            "Teacher accounts: only a signed-in teacher creates lessons.\n"
            "\n"
            "  add NAME        a new teacher; asks for the password twice (or reads\n"
            "                  one line from standard input when it is not a terminal)\n"
            "    --admin             may manage teachers on the web page too\n"
            "    --display-name TEXT the name students see (default: NAME)\n"
            "    --random            generate a one-time password and print it; the\n"
            "                        teacher chooses their own at the first sign-in\n"
            "  passwd NAME     set a new password (--random as above); signs the\n"
            "                  teacher out everywhere\n"
            "  list            every teacher\n"
            "  disable NAME    the teacher can no longer sign in (signed out now)\n"
            "  enable NAME     undo disable\n"
            "\n"
            "  --state-dir DIR where the accounts are kept (default:\n"
            "                  $XDG_STATE_HOME/classcast, ~/.local/state/classcast,\n"
            "                  or /var/lib/classcast for root); the same as for\n"
            "                  `classcast serve`\n"
            "\n"
            "Passwords have at least %d characters.\n",
            CC_PWHASH_MIN_CHARS);
}

/* ---- reading a password ---- */

static struct termios g_saved_tio;
static volatile sig_atomic_t g_echo_off;

static void restore_echo(void)
{
    if (g_echo_off) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_tio);
        g_echo_off = 0;
    }
}

/* Ctrl-C at the prompt must not leave the terminal without echo. */
static void on_interrupt(int sig)
{
    if (g_echo_off)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_tio);
    static const char nl[] = "\n";
    if (write(STDERR_FILENO, nl, 1) < 0) {
        /* nothing more to do in a signal handler */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line from stdin into buf (without its line end). 0, or -1 at end of
 * input or when the line does not fit. */
static int read_line(char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, stdin))
        return -1;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = 0;
    else if (!feof(stdin)) {
        /* Longer than the buffer: drain the rest and refuse. */
        int ch;
        while ((ch = getchar()) != EOF && ch != '\n') {
        }
        OPENSSL_cleanse(buf, cap);
        return -2;
    }
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = 0;
    return 0;
}

static int prompt_hidden(const char *prompt, char *buf, size_t cap)
{
    fputs(prompt, stderr);
    fflush(stderr);
    struct termios tio;
    if (tcgetattr(STDIN_FILENO, &g_saved_tio) == 0) {
        tio = g_saved_tio;
        tio.c_lflag &= (tcflag_t)~ECHO;
        tio.c_lflag |= ECHONL;
        g_echo_off = 1;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio);
    }
    int rc = read_line(buf, cap);
    restore_echo();
    return rc;
}

/* The new password: from the terminal (twice, hidden) or one line of
 * stdin. 0, or 1 after telling the user what is wrong. */
static int read_password(const char *name, char *pw, size_t cap)
{
    char again[CC_PWHASH_MAX_BYTES + 2];
    int tty = isatty(STDIN_FILENO);
    int rc = 1;
    if (tty) {
        char prompt[CC_STORE_NAME_CAP + 64];
        snprintf(prompt, sizeof prompt, "New password for %s (at least %d characters): ", name,
                 CC_PWHASH_MIN_CHARS);
        signal(SIGINT, on_interrupt);
        signal(SIGTERM, on_interrupt);
        if (prompt_hidden(prompt, pw, cap) != 0 ||
            prompt_hidden("Type it again: ", again, sizeof again) != 0) {
            fprintf(stderr, PROG ": no password read\n");
            goto out;
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (strcmp(pw, again) != 0) {
            fprintf(stderr, PROG ": the two passwords differ; nothing changed\n");
            goto out;
        }
    } else {
        int r = read_line(pw, cap);
        if (r == -2) {
            fprintf(stderr, PROG ": the password is longer than %d bytes\n", CC_PWHASH_MAX_BYTES);
            goto out;
        }
        if (r != 0) {
            fprintf(stderr, PROG ": no password on standard input\n");
            goto out;
        }
    }
    if (cc_pwhash_policy(pw) != 0) {
        fprintf(stderr,
                PROG ": a password needs at least %d characters (at most %d bytes of UTF-8); "
                "nothing changed\n",
                CC_PWHASH_MIN_CHARS, CC_PWHASH_MAX_BYTES);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(again, sizeof again);
    if (rc)
        OPENSSL_cleanse(pw, cap);
    return rc;
}

/* ---- commands ---- */

typedef struct opts {
    const char *state_dir;
    const char *display_name;
    int admin, random;
} opts;

static int open_store(const opts *o, cc_store **s)
{
    char err[CC_PATHS_MAX + 128];
    if (cc_store_open(s, o->state_dir, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    return 0;
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* The generated password on stdout (alone on its line, for scripts), what
 * to do with it on stderr. */
static void show_random(const char *name, const char *pw)
{
    fprintf(stderr, "One-time password for %s (shown only now; they choose their own at "
                    "the first sign-in):\n", name);
    fflush(stderr);
    printf("%s\n", pw);
    fflush(stdout);
}

static int new_password(const opts *o, const char *name, char *pw, size_t cap)
{
    if (o->random) {
        if (cc_pwhash_generate(pw, RANDOM_PW_LEN) != 0) {
            fprintf(stderr, PROG ": no randomness for a password\n");
            return 1;
        }
        return 0;
    }
    return read_password(name, pw, cap);
}

static int cmd_add(cc_store *s, const opts *o, const char *name)
{
    if (!cc_store_name_ok(name)) {
        fprintf(stderr, PROG ": a name has 1 to %d characters, no control characters and no "
                        "spaces at either end\n", CC_STORE_NAME_MAX_CP);
        return 2;
    }
    if (!cc_store_display_name_ok(o->display_name)) {
        fprintf(stderr, PROG ": a display name has at most %d characters and no control "
                        "characters\n", CC_STORE_NAME_MAX_CP);
        return 2;
    }
    if (cc_store_teacher_find(s, name, NULL) == 0) {
        fprintf(stderr, PROG ": there is already a teacher named '%s'\n", name);
        return 1;
    }
    char pw[CC_PWHASH_MAX_BYTES + 2];
    if (new_password(o, name, pw, sizeof pw) != 0)
        return 1;
    unsigned flags = (o->admin ? CC_TEACHER_ADMIN : 0) | (o->random ? CC_TEACHER_MUST_CHANGE : 0);
    int rc = cc_store_teacher_add(s, name, o->display_name, pw, flags, now_s(), NULL);
    if (rc == 0 && o->random)
        show_random(name, pw);
    OPENSSL_cleanse(pw, sizeof pw);
    if (rc == CC_EEXIST) {
        fprintf(stderr, PROG ": there is already a teacher named '%s'\n", name);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, PROG ": could not add '%s': %s\n", name, cc_strerror(rc));
        return 1;
    }
    fprintf(stderr, "Teacher '%s' added%s.\n", name, o->admin ? " (admin)" : "");
    return 0;
}

static int find(cc_store *s, const char *name, cc_teacher *t)
{
    int rc = cc_store_teacher_find(s, name, t);
    if (rc == CC_ENOTFOUND)
        fprintf(stderr, PROG ": no teacher is named '%s' (see: classcast teacher list)\n", name);
    else if (rc != 0)
        fprintf(stderr, PROG ": %s\n", cc_strerror(rc));
    return rc;
}

static int cmd_passwd(cc_store *s, const opts *o, const char *name)
{
    cc_teacher t;
    if (find(s, name, &t) != 0)
        return 1;
    char pw[CC_PWHASH_MAX_BYTES + 2];
    if (new_password(o, name, pw, sizeof pw) != 0)
        return 1;
    int rc = cc_store_teacher_set_password(s, t.id, pw, o->random, NULL);
    if (rc == 0 && o->random)
        show_random(name, pw);
    OPENSSL_cleanse(pw, sizeof pw);
    if (rc != 0) {
        fprintf(stderr, PROG ": could not set the password: %s\n", cc_strerror(rc));
        return 1;
    }
    fprintf(stderr, "Password of '%s' changed; every browser signed in as %s is signed out.\n",
            name, name);
    return 0;
}

static int cmd_disable(cc_store *s, const char *name, int disable)
{
    cc_teacher t;
    if (find(s, name, &t) != 0)
        return 1;
    int rc = cc_store_teacher_set_disabled(s, t.id, disable);
    if (rc != 0) {
        fprintf(stderr, PROG ": %s\n", cc_strerror(rc));
        return 1;
    }
    fprintf(stderr, disable ? "Teacher '%s' disabled and signed out.\n"
                            : "Teacher '%s' may sign in again.\n", name);
    return 0;
}

/* Pads with spaces to `width` code points (names are UTF-8). */
static void cell(const char *text, int width)
{
    glong n = g_utf8_strlen(text, -1);
    fputs(text, stdout);
    for (glong i = n; i < width; i++)
        putchar(' ');
}

static int cmd_list(cc_store *s)
{
    cc_teacher *all = NULL;
    int n = 0;
    if (cc_store_teacher_list(s, &all, &n) != 0) {
        fprintf(stderr, PROG ": could not read the teachers\n");
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "No teachers yet. Add one: classcast teacher add NAME --admin\n");
        free(all);
        return 0;
    }
    int wn = 4, wd = 12, admins = 0;
    for (int i = 0; i < n; i++) {
        glong a = g_utf8_strlen(all[i].name, -1), b = g_utf8_strlen(all[i].display_name, -1);
        if (a > wn)
            wn = (int)a;
        if (b > wd)
            wd = (int)b;
        admins += all[i].is_admin && !all[i].disabled;
    }
    cell("NAME", wn + 2);
    cell("DISPLAY NAME", wd + 2);
    printf("ROLE     STATUS    CREATED\n");
    for (int i = 0; i < n; i++) {
        char day[32] = "?";
        time_t tt = (time_t)all[i].created_at;
        struct tm tm;
        if (localtime_r(&tt, &tm))
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
        cell(all[i].name, wn + 2);
        cell(all[i].display_name, wd + 2);
        printf("%-8s %-9s %s\n", all[i].is_admin ? "admin" : "teacher",
               all[i].disabled ? "disabled" : all[i].must_change_pw ? "new" : "active", day);
    }
    free(all);
    if (admins == 0)
        fprintf(stderr, "\nNo admin can manage teachers on the web page; make one:\n"
                        "  classcast teacher add NAME --admin\n");
    return 0;
}

int cc_teacher_cmd(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    static const struct option longopts[] = {
        {"state-dir", required_argument, 0, 'S'},
        {"admin", no_argument, 0, 'a'},
        {"display-name", required_argument, 0, 'n'},
        {"random", no_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    opts o = {0};
    int c;
    optind = 1;
    /* argv + 1: getopt reads from argv[1] on, the subcommand's own words. */
    while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'S': o.state_dir = optarg; break;
        case 'a': o.admin = 1; break;
        case 'n': o.display_name = optarg; break;
        case 'r': o.random = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *const *rest = (const char *const *)(argv + 1 + optind);
    int nrest = argc - 1 - optind;
    int wants_name = strcmp(cmd, "list") != 0;
    int known = strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0 ||
                strcmp(cmd, "list") == 0 || strcmp(cmd, "disable") == 0 ||
                strcmp(cmd, "enable") == 0;
    if (!known) {
        fprintf(stderr, PROG ": unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    if (nrest != (wants_name ? 1 : 0)) {
        fprintf(stderr, wants_name ? PROG " %s: give exactly one NAME\n"
                                   : PROG " %s: takes no NAME\n", cmd);
        return 2;
    }
    if ((o.admin || o.display_name) && strcmp(cmd, "add") != 0) {
        fprintf(stderr, PROG " %s: --admin and --display-name go with add\n", cmd);
        return 2;
    }
    if (o.random && strcmp(cmd, "add") != 0 && strcmp(cmd, "passwd") != 0) {
        fprintf(stderr, PROG " %s: --random goes with add and passwd\n", cmd);
        return 2;
    }
    /* The store logs at info (migrations); the command's own messages say
     * what matters. */
    if (cc_log_get_level() > CC_LOG_WARN)
        cc_log_set_level(CC_LOG_WARN);
    cc_store *s = NULL;
    if (open_store(&o, &s) != 0)
        return 1;
    int rc;
    const char *name = nrest ? rest[0] : NULL;
    if (strcmp(cmd, "add") == 0)
        rc = cmd_add(s, &o, name);
    else if (strcmp(cmd, "passwd") == 0)
        rc = cmd_passwd(s, &o, name);
    else if (strcmp(cmd, "list") == 0)
        rc = cmd_list(s);
    else
        rc = cmd_disable(s, name, strcmp(cmd, "disable") == 0);
    cc_store_close(s);
    return rc;
}
