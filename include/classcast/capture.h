/* classcast: capture of raw video (I420) and audio (S16LE, 48 kHz) from a
 * GStreamer pipeline described in pipelines/<name>.pipe.
 *
 * A .pipe file is gst-launch syntax ending in `appsink name=sink`. Lines whose
 * first non-blank character is '#' are comments (stripped before parsing).
 * ${NAME} and ${NAME:-default} are replaced by the caller's "NAME=value" vars
 * (or the default); a var with neither is an error. Values the caller gives
 * are restricted to [A-Za-z0-9_.:/@+,-] so a value from the teacher page
 * cannot inject pipeline syntax. Pipeline names are [A-Za-z0-9_-].
 *
 * Sample times: the pipeline runs on a private GstSystemClock of type
 * GST_CLOCK_TYPE_MONOTONIC, whose time is clock_gettime(CLOCK_MONOTONIC).
 * A sample's capture time is base_time + running_time(PTS) of the buffer,
 * in nanoseconds of that clock, divided by 1000: the same time base as
 * cc_clock_mono_us(). Live sources stamp a buffer with the running time at
 * which it was captured, so this is when the picture/sound was taken.
 *
 * Failure and recovery: a bus ERROR (or EOS) while running is logged, kept as
 * the last error, and the pipeline is torn down and rebuilt from the same
 * description after a backoff of 0.5 s doubling to 5 s (reset once samples
 * flow again). Each rebuild counts in status.restarts. So a camera that is
 * unplugged and plugged back, or an X display that dies and comes back,
 * resumes by itself.
 * X displays: Xlib calls exit() when its X server connection breaks, and
 * libX11 (1.8) reads a display's exit handler before the global IO error
 * handler runs, so it cannot be disarmed late. For pipelines with ximagesrc,
 * capture installs a global XSetIOErrorHandler (looked up in the libX11 the
 * plugin loaded) that records the lost display and parks the calling
 * streaming thread forever instead of letting the process exit; the
 * supervisor then abandons that pipeline instance (never set to NULL: that
 * would wait on the parked thread; it stays allocated, a few MB per loss)
 * and builds a new one.
 *
 * Threads: one capture has a supervisor thread (bus watch, restarts) plus the
 * GStreamer streaming threads. cc_capture_pull is for ONE consumer thread
 * (the encoder thread); new/start/stop/free for the owner thread;
 * cc_capture_get_status from any thread. */
#ifndef CLASSCAST_CAPTURE_H
#define CLASSCAST_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

typedef struct cc_capture cc_capture;

#define CC_CAPTURE_MAX_VARS 16

typedef struct cc_capture_config {
    const char *pipelines_dir; /* directory holding <name>.pipe files */
    const char *name;          /* "screen", "camera", "mic", "test-video" ... */
    /* "KEY=value" pairs, NULL-terminated (at most CC_CAPTURE_MAX_VARS - 1) */
    const char *vars[CC_CAPTURE_MAX_VARS];
} cc_capture_config;

typedef enum {
    CC_CAPTURE_VIDEO = 1, /* I420 */
    CC_CAPTURE_AUDIO = 2, /* S16LE interleaved */
} cc_capture_kind;

typedef enum {
    CC_CAPTURE_STOPPED = 0, /* created or stopped */
    CC_CAPTURE_STARTING,    /* playing, no sample pulled yet */
    CC_CAPTURE_RUNNING,     /* samples flowing */
    CC_CAPTURE_RESTARTING,  /* failed while running; rebuilding with backoff */
    CC_CAPTURE_FAILED,      /* cc_capture_start failed; see last_error */
} cc_capture_state;

typedef struct cc_capture_sample {
    cc_capture_kind kind;
    cc_time_us capture_us;  /* CLOCK_MONOTONIC microseconds (see above) */
    cc_time_us duration_us; /* 0 if the buffer has none */
    uint64_t seq;           /* 0, 1, 2 ... over the life of the capture */
    /* Pipeline instance that made the sample: 1 for the first start, +1 per
     * restart. A change means a gap: the encoder should send a keyframe. */
    uint32_t generation;

    /* video */
    int width, height;
    const uint8_t *plane[3]; /* Y, U, V */
    int stride[3];

    /* audio */
    int rate, channels;
    const int16_t *pcm; /* interleaved */
    size_t frames;      /* samples per channel */

    /* internal: the mapped buffer; free with cc_capture_sample_release */
    void *priv_sample_;
    void *priv_buffer_;
    uint64_t priv_map_[16];
    int priv_mapped_;
} cc_capture_sample;

typedef struct cc_capture_status {
    cc_capture_state state;
    int kind;             /* cc_capture_kind of the source, 0 if unknown */
    char name[64];        /* pipeline name */
    uint32_t restarts;    /* rebuild attempts after a failure */
    uint32_t errors;      /* bus errors (and lost X connections) seen */
    uint64_t buffers_in;  /* buffers that reached the appsink */
    uint64_t samples;     /* samples handed out by cc_capture_pull */
    uint64_t dropped;     /* dropped: appsink full (consumer too slow) */
    uint64_t bad_format;  /* dropped: caps/size not I420 or S16LE */
    char last_error[512]; /* "" if none */
} cc_capture_status;

/* Read <pipelines_dir>/<name>.pipe, substitute vars, parse it (no device is
 * opened yet). Errors, with a message in err:
 *   CC_ENOTFOUND    no such pipeline (message lists the available names), or
 *                   the device/display it names does not exist (message lists
 *                   the devices that do)
 *   CC_EINVAL       bad name or var value, var missing, parse error
 *   CC_EUNSUPPORTED a GStreamer element is not installed (message names the
 *                   Debian package)
 *   CC_ENOMEM */
int cc_capture_new(cc_capture **out, const cc_capture_config *cfg, char *err,
                   size_t errcap);

/* Set the pipeline playing and start the supervisor. If the source cannot
 * start (device busy or missing, no sound server ...) returns CC_ENOTFOUND
 * or CC_EIO, state becomes CC_CAPTURE_FAILED and status.last_error says why
 * and lists the devices that exist. CC_ESTATE if already started. */
int cc_capture_start(cc_capture *c);

/* Block up to timeout_ms for the next sample. 0 and *out filled (release it
 * with cc_capture_sample_release), CC_ETIMEOUT, or CC_ECLOSED if not started.
 * While the capture restarts, it waits (and times out) like for a slow
 * source. */
int cc_capture_pull(cc_capture *c, cc_capture_sample *out, int timeout_ms);
void cc_capture_sample_release(cc_capture_sample *s);

void cc_capture_get_status(cc_capture *c, cc_capture_status *out);

/* Stop the supervisor and the pipeline (idempotent); start may follow. */
void cc_capture_stop(cc_capture *c);
void cc_capture_free(cc_capture *c);

/* Comma-separated names of the .pipe files in dir ("camera, mic, ..."),
 * sorted. Returns the number of pipelines, or CC_EIO / CC_EINVAL. */
int cc_capture_list_pipelines(const char *dir, char *buf, size_t cap);

/* The first comment line of a pipeline (its one-line description, without
 * the "# "), for the teacher page. 0, CC_ENOTFOUND or CC_EINVAL. */
int cc_capture_describe_pipeline(const char *dir, const char *name, char *buf,
                                 size_t cap);

const char *cc_capture_state_name(cc_capture_state s);

/* Pipeline instances abandoned because their streaming thread is parked
 * after an X connection loss (see above), over the whole process. While
 * nonzero, do not call gst_deinit(): it waits for every streaming thread. */
unsigned cc_capture_parked_pipelines(void);

#endif
