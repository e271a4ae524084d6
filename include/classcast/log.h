/* classcast: logging with levels and a per-call-site rate limit.
 * Thread: any (a line is written with one fprintf under stdio's lock).
 * The packet path logs only through CC_LOG_RL so a flood of bad packets
 * cannot flood the log. */
#ifndef CLASSCAST_LOG_H
#define CLASSCAST_LOG_H

#include <stdint.h>

typedef enum {
    CC_LOG_ERROR = 0,
    CC_LOG_WARN = 1,
    CC_LOG_INFO = 2,
    CC_LOG_DEBUG = 3,
} cc_log_level;

void cc_log_set_level(cc_log_level lvl);
cc_log_level cc_log_get_level(void);
/* Parse "error" | "warn" | "info" | "debug"; returns 0 or CC_EINVAL. */
int cc_log_parse_level(const char *s, cc_log_level *out);

void cc_log_write(cc_log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Rate limit state for one call site: at most `burst` lines per second,
 * then a summary of how many were suppressed. */
typedef struct cc_log_rl {
    int64_t window_start_us;
    uint32_t in_window;
    uint32_t suppressed;
} cc_log_rl;

/* Returns 1 if a line may be written now (and prints a "suppressed N" note
 * when a window with suppressed lines ends), 0 to skip. */
int cc_log_rl_allow(cc_log_rl *rl, uint32_t burst, const char *mod);
/* The same at an explicit monotonic time (cc_clock_mono_us scale), so
 * tests can drive the window with a manual clock. */
int cc_log_rl_allow_at(cc_log_rl *rl, uint32_t burst, const char *mod,
                       int64_t now);

#define CC_LOG(lvl, mod, ...)                                                  \
    do {                                                                       \
        if ((lvl) <= cc_log_get_level())                                       \
            cc_log_write((lvl), (mod), __VA_ARGS__);                           \
    } while (0)

#define CC_ERROR(mod, ...) CC_LOG(CC_LOG_ERROR, mod, __VA_ARGS__)
#define CC_WARN(mod, ...) CC_LOG(CC_LOG_WARN, mod, __VA_ARGS__)
#define CC_INFO(mod, ...) CC_LOG(CC_LOG_INFO, mod, __VA_ARGS__)
#define CC_DEBUG(mod, ...) CC_LOG(CC_LOG_DEBUG, mod, __VA_ARGS__)

/* Rate-limited: at most 5 lines per second from this call site. */
#define CC_LOG_RL(lvl, mod, ...)                                               \
    do {                                                                       \
        static __thread cc_log_rl cc__rl_;                                     \
        if ((lvl) <= cc_log_get_level() && cc_log_rl_allow(&cc__rl_, 5, mod))  \
            cc_log_write((lvl), (mod), __VA_ARGS__);                           \
    } while (0)

#endif
