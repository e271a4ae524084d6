/* classcast: error codes shared by every module.
 * Thread: any. Functions return 0 on success or a negative CC_E* code. */
#ifndef CLASSCAST_ERR_H
#define CLASSCAST_ERR_H

enum {
    CC_OK = 0,
    CC_EINVAL = -1,       /* malformed input or bad argument */
    CC_ENOMEM = -2,       /* allocation failed */
    CC_ETRUNC = -3,       /* input shorter than its own headers say */
    CC_ENOSPC = -4,       /* caller's output buffer too small */
    CC_EAUTH = -5,        /* integrity / authentication check failed */
    CC_ENOTFOUND = -6,    /* no such peer, attribute, payload type ... */
    CC_EAGAIN = -7,       /* nothing to do now; try again later */
    CC_EPROTO = -8,       /* well-formed but violates the protocol */
    CC_ESTATE = -9,       /* not allowed in the current state */
    CC_EIO = -10,         /* system call failed (errno kept by caller) */
    CC_EUNSUPPORTED = -11,/* valid but not something classcast does */
    CC_ECRYPTO = -12,     /* OpenSSL / libsrtp failure */
    CC_ECLOSED = -13,     /* peer or object has been closed */
    CC_ETIMEOUT = -14,    /* deadline passed */
    CC_ELIMIT = -15,      /* a limit on what one party may hold was reached */
    CC_EEXIST = -16,      /* a name that must be unique is taken */
};

/* Short English description of an error code, never NULL. */
const char *cc_strerror(int err);

#endif
