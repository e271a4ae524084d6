/* classcast: the three media slots of a lesson (what the teacher publishes
 * and what a student's page lays out). Shared by the signalling protocol
 * (src/signal/proto.c, which also implements the name functions) and the SFU.
 * Thread: any. */
#ifndef CLASSCAST_SLOT_H
#define CLASSCAST_SLOT_H

/* The SFU header may define the same enum; whichever comes first wins. */
#ifndef CC_SLOT_DEFINED
#define CC_SLOT_DEFINED
typedef enum {
    CC_SLOT_CAMERA = 0,
    CC_SLOT_SCREEN = 1,
    CC_SLOT_MIC = 2,
    CC_SLOT_COUNT = 3,
} cc_slot;
#endif

/* "camera", "screen", "mic"; NULL for anything else. */
const char *cc_slot_name(int slot);
/* The slot of a wire name, or -1 if s is NULL or not a slot name. */
int cc_slot_from_name(const char *s);

#endif
