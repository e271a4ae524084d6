/* classcast: a single-producer single-consumer ring of pointers, lock-free
 * (C11 atomics, acquire/release), for handing encoded and packetized media
 * from an encoder thread to the SFU worker that owns the room. A full ring
 * refuses the push (the producer counts the drop); nothing blocks.
 * Thread: exactly one producer thread and one consumer thread. */
#ifndef CLASSCAST_RING_H
#define CLASSCAST_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct cc_ring cc_ring;

/* capacity is rounded up to a power of two (>= 2). */
int cc_ring_new(cc_ring **out, size_t capacity);
/* Frees the ring only; items still inside belong to the caller (drain it
 * first with cc_ring_pop). */
void cc_ring_free(cc_ring *r);
/* Producer: 0, or CC_EAGAIN when full. */
int cc_ring_push(cc_ring *r, void *item);
/* Consumer: the oldest item, or NULL when empty. */
void *cc_ring_pop(cc_ring *r);
size_t cc_ring_count(const cc_ring *r);
size_t cc_ring_capacity(const cc_ring *r);

#endif
