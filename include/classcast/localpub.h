/* classcast: local publishing: `serve --source a,b,c` makes the media core
 * the teacher's publisher inside the server process. Each source runs on its
 * own thread and hands its RTP packets to the SFU worker through its own
 * SPSC ring (woken by an eventfd): no SRTP, no ICE.
 * Thread: the control thread. */
#ifndef CLASSCAST_LOCALPUB_H
#define CLASSCAST_LOCALPUB_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/worker.h"

typedef struct cc_localpub cc_localpub;

typedef struct cc_localpub_config {
    cc_worker *worker;
    uint32_t room_id;
    const char *pipelines_dir;
    /* "test-video,test-audio" or "screen,camera,mic"; a name may say its
     * slot: "test-video:screen". */
    const char *sources;
    const char *display;           /* DISPLAY for screen pipelines, or NULL */
    int width, height, fps;        /* video size (0: 1280x720 at 30) */
    int camera_encodings;          /* simulcast of the camera slot: 0/1
                                      none, 2 or 3 (full, half and quarter
                                      size: include/classcast/vp8enc.h) */
} cc_localpub_config;

/* Builds and starts every source, attaches each to the room. On error
 * nothing is left running and err says what failed (for a missing device,
 * which devices exist). */
int cc_localpub_start(cc_localpub **out, const cc_localpub_config *cfg,
                      char *err, size_t errcap);
/* Stops the sources and detaches them from the worker (blocks until the
 * worker let go of their rings). */
void cc_localpub_stop(cc_localpub *lp);

#endif
