/* classcast: what every command-line program of the project shares (the
 * server `classcast` and the tools `classcast-publish`, `classcast-loadgen`):
 * option parsers that print why they refuse, and the stop signals.
 * Thread: the program's main thread, before any other starts. */
#ifndef CLASSCAST_CLI_H
#define CLASSCAST_CLI_H

/* --log-level error|warn|info|debug: sets the level and returns 0, or
 * prints "PROG: unknown log level" on stderr and returns 2 (the exit code
 * for a usage error). */
int cc_cli_log_level(const char *prog, const char *arg);

/* --video-size WxH: even sizes from 16x16 to 7680x4320 (what libvpx and
 * I420 accept). 0, or prints why and returns 2. */
int cc_cli_video_size(const char *prog, const char *arg, int *w, int *h);

/* SIGINT and SIGTERM set *stop to 1 and call wake (may be NULL) from the
 * signal handler, so wake must be async-signal-safe; SIGPIPE is ignored. */
void cc_cli_on_stop(volatile int *stop, void (*wake)(void));

#endif
