#include "classcast/mailbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "classcast/err.h"

struct cc_mailbox {
    pthread_mutex_t lock;
    cc_msg *head, *tail;
    int efd;
    int closed;
};

int cc_mailbox_new(cc_mailbox **out)
{
    *out = NULL;
    cc_mailbox *mb = calloc(1, sizeof *mb);
    if (!mb)
        return CC_ENOMEM;
    mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mb->efd < 0) {
        free(mb);
        return CC_EIO;
    }
    pthread_mutex_init(&mb->lock, NULL);
    *out = mb;
    return 0;
}

void cc_msg_free(cc_msg *m)
{
    if (!m)
        return;
    if (m->free_fn)
        m->free_fn(m);
    else
        free(m);
}

void cc_mailbox_free(cc_mailbox *mb)
{
    if (!mb)
        return;
    cc_msg *m = mb->head;
    while (m) {
        cc_msg *next = m->next;
        cc_msg_free(m);
        m = next;
    }
    close(mb->efd);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

int cc_mailbox_fd(const cc_mailbox *mb) { return mb->efd; }

int cc_mailbox_post(cc_mailbox *mb, cc_msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&mb->lock);
    if (mb->closed) {
        pthread_mutex_unlock(&mb->lock);
        return CC_ECLOSED;
    }
    int was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    pthread_mutex_unlock(&mb->lock);
    if (was_empty) {
        /* One wakeup per empty->non-empty transition is enough: the owner
         * drains everything. */
        uint64_t one = 1;
        ssize_t r = write(mb->efd, &one, sizeof one);
        (void)r; /* EAGAIN means the counter is already non-zero: fine */
    }
    return 0;
}

int cc_mailbox_pending(cc_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    int pending = mb->head != NULL;
    pthread_mutex_unlock(&mb->lock);
    return pending;
}

cc_msg *cc_mailbox_drain(cc_mailbox *mb)
{
    uint64_t v;
    ssize_t r = read(mb->efd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&mb->lock);
    cc_msg *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->lock);
    return m;
}

void cc_mailbox_close(cc_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->closed = 1;
    pthread_mutex_unlock(&mb->lock);
}
