/* classcast: capture devices that exist on this machine (cameras, microphones,
 * X displays), for the teacher page's pickers and for "no such device" errors
 * that say what does exist.
 *
 * Cameras and microphones come from a GstDeviceMonitor probe (Video/Source,
 * Audio/Source: V4L2, PulseAudio, ALSA, PipeWire providers, whichever are
 * installed). Screens are the local X displays: the sockets in /tmp/.X11-unix
 * that accept a connection.
 *
 * Thread: any. Each call builds and drops its own monitor (a probe takes a few
 * milliseconds to ~100 ms); calls gst_init itself if nobody has. */
#ifndef CLASSCAST_DEVICES_H
#define CLASSCAST_DEVICES_H

#include <stddef.h>

typedef enum {
    CC_DEVICE_CAMERA = 1,
    CC_DEVICE_MIC = 2,
    CC_DEVICE_SCREEN = 4,
} cc_device_kind;

#define CC_DEVICE_ALL (CC_DEVICE_CAMERA | CC_DEVICE_MIC | CC_DEVICE_SCREEN)

typedef struct cc_device {
    cc_device_kind kind;
    /* What a pipeline variable takes (DEVICE=, DISPLAY=): "/dev/video0",
     * a PulseAudio source name, an ALSA name ("hw:0"), ":99". */
    char id[160];
    char name[128]; /* human name: "HD Webcam C270", "X display :99" */
    char api[16];   /* "v4l2", "pulse", "alsa", "pipewire", "x11", ... */
} cc_device;

/* Fill out[0..cap) with devices whose kind is in the `kinds` mask; *count gets
 * the number that exist (may exceed cap: the rest are not written).
 * Returns 0, or CC_EINVAL. An empty machine is not an error (*count = 0). */
int cc_devices_list(unsigned kinds, cc_device *out, size_t cap, size_t *count);

/* Human text of the devices of the kinds in the mask, for error messages and
 * logs, e.g. "cameras: none found; microphones: default (alsa)". Always
 * NUL-terminates buf (truncating if needed). Returns 0 or CC_EINVAL. */
int cc_devices_describe(unsigned kinds, char *buf, size_t cap);

/* "camera", "microphone", "screen" */
const char *cc_device_kind_name(cc_device_kind k);

#endif
