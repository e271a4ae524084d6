/* classcast: shared command-line helpers (see include/classcast/cli.h). */
#include "classcast/cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "classcast/log.h"

static volatile int *g_stop;
static void (*g_wake)(void);

int cc_cli_log_level(const char *prog, const char *arg)
{
    cc_log_level lvl;
    if (cc_log_parse_level(arg, &lvl) != 0) {
        fprintf(stderr, "%s: unknown log level '%s' (error, warn, info, debug)\n",
                prog, arg);
        return 2;
    }
    cc_log_set_level(lvl);
    return 0;
}

int cc_cli_video_size(const char *prog, const char *arg, int *w, int *h)
{
    if (sscanf(arg, "%dx%d", w, h) != 2 || *w < 16 || *h < 16 || *w > 7680 ||
        *h > 4320 || (*w & 1) || (*h & 1)) {
        fprintf(stderr, "%s: --video-size wants WxH with even sizes, e.g. 1280x720\n",
                prog);
        return 2;
    }
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    if (g_stop)
        *g_stop = 1;
    if (g_wake)
        g_wake();
}

void cc_cli_on_stop(volatile int *stop, void (*wake)(void))
{
    g_stop = stop;
    g_wake = wake;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
