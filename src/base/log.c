#include "classcast/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "classcast/clock.h"
#include "classcast/err.h"

static volatile int g_level = CC_LOG_INFO;

void cc_log_set_level(cc_log_level lvl) { g_level = (int)lvl; }
cc_log_level cc_log_get_level(void) { return (cc_log_level)g_level; }

int cc_log_parse_level(const char *s, cc_log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (cc_log_level)i;
            return 0;
        }
    }
    return CC_EINVAL;
}

void cc_log_write(cc_log_level lvl, const char *mod, const char *fmt, ...)
{
    static const char tag[] = "EWID";
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cc_time_us t = cc_clock_mono_us();
    fprintf(stderr, "%lld.%03lld %c %s: %s\n", (long long)(t / CC_USEC_PER_SEC),
            (long long)(t % CC_USEC_PER_SEC) / 1000, tag[lvl & 3], mod, msg);
}

int cc_log_rl_allow(cc_log_rl *rl, uint32_t burst, const char *mod)
{
    return cc_log_rl_allow_at(rl, burst, mod, cc_clock_mono_us());
}

int cc_log_rl_allow_at(cc_log_rl *rl, uint32_t burst, const char *mod,
                       int64_t now)
{
    if (now - rl->window_start_us >= CC_USEC_PER_SEC) {
        if (rl->suppressed)
            cc_log_write(CC_LOG_WARN, mod, "%u similar lines suppressed",
                         rl->suppressed);
        rl->window_start_us = now;
        rl->in_window = 0;
        rl->suppressed = 0;
    }
    if (rl->in_window < burst) {
        rl->in_window++;
        return 1;
    }
    rl->suppressed++;
    return 0;
}
