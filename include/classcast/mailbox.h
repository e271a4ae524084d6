/* classcast: a thread hand-off queue woken through an eventfd.
 * Any thread posts; one owner thread polls the fd (epoll) and drains.
 * Messages are allocated by the poster and freed by the receiver (after
 * drain the receiver owns them). Messages carry ids and values, never
 * pointers into the poster's objects (docs/ARCHITECTURE.md, "Rules the
 * code keeps").
 * Thread: post from any thread; fd/drain on the owner thread. */
#ifndef CLASSCAST_MAILBOX_H
#define CLASSCAST_MAILBOX_H

#include <stdint.h>

typedef struct cc_mailbox cc_mailbox;

/* Embed as the first member of a message struct. */
typedef struct cc_msg {
    struct cc_msg *next;
    int type;
    void (*free_fn)(struct cc_msg *m); /* frees the whole message */
} cc_msg;

int cc_mailbox_new(cc_mailbox **out);
/* Frees undelivered messages with their free_fn. */
void cc_mailbox_free(cc_mailbox *mb);
/* The eventfd to poll for readability. */
int cc_mailbox_fd(const cc_mailbox *mb);
/* Never blocks. Returns 0 or CC_ECLOSED after cc_mailbox_close (the caller
 * keeps ownership of m then). */
int cc_mailbox_post(cc_mailbox *mb, cc_msg *m);
/* All queued messages in posting order (NULL if none); clears the wakeup. */
cc_msg *cc_mailbox_drain(cc_mailbox *mb);
/* 1 if a message is queued. No system call (unlike drain, which reads the
 * eventfd): cheap enough to ask for every datagram of a flood. */
int cc_mailbox_pending(cc_mailbox *mb);
/* Refuse further posts. */
void cc_mailbox_close(cc_mailbox *mb);
void cc_msg_free(cc_msg *m);

#endif
