#include "classcast/err.h"

const char *cc_strerror(int err)
{
    switch (err) {
    case CC_OK: return "ok";
    case CC_EINVAL: return "invalid input";
    case CC_ENOMEM: return "out of memory";
    case CC_ETRUNC: return "truncated input";
    case CC_ENOSPC: return "output buffer too small";
    case CC_EAUTH: return "authentication failed";
    case CC_ENOTFOUND: return "not found";
    case CC_EAGAIN: return "try again";
    case CC_EPROTO: return "protocol violation";
    case CC_ESTATE: return "wrong state";
    case CC_EIO: return "i/o error";
    case CC_EUNSUPPORTED: return "unsupported";
    case CC_ECRYPTO: return "crypto failure";
    case CC_ECLOSED: return "closed";
    case CC_ETIMEOUT: return "timed out";
    case CC_ELIMIT: return "limit reached";
    case CC_EEXIST: return "already exists";
    default: return "unknown error";
    }
}
