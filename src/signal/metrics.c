/* Prometheus text for GET /metrics (see include/classcast/metrics.h). */
#include "classcast/metrics.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

/* Values that go up and down: everything else only counts up. */
static int is_gauge(const char *group, const char *name)
{
    static const char *const gauges[] = {
        "peers", "lessons", "conns_open", "dtls_handshaking", "rooms", "publishers",
        "subscribers", "heap_trim_max_us", "first_picture_wait_max_us", "nack_cache_pkts",
        "nack_cache_bytes", "nack_cache_cap_bytes", "nack_cache_tracks", "nack_cache_quota",
        "live",
    };
    (void)group;
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++)
        if (strcmp(name, gauges[i]) == 0)
            return 1;
    return 0;
}

/* Metric names are [a-zA-Z_:][a-zA-Z0-9_:]*; /stats keys already are, but
 * never trust that: anything else becomes '_'. */
static void put_name(GString *s, const char *group, const char *name, int gauge)
{
    g_string_append(s, "classcast_");
    for (const char *p = group; p && *p; p++)
        g_string_append_c(s, g_ascii_isalnum(*p) ? *p : '_');
    if (group && *group)
        g_string_append_c(s, '_');
    for (const char *p = name; *p; p++)
        g_string_append_c(s, g_ascii_isalnum(*p) ? *p : '_');
    if (!gauge)
        g_string_append(s, "_total");
}

static void put_sample(GString *s, const char *group, const char *name, json_int_t v)
{
    int gauge = is_gauge(group, name);
    g_string_append(s, "# TYPE ");
    put_name(s, group, name, gauge);
    g_string_append(s, gauge ? " gauge\n" : " counter\n");
    put_name(s, group, name, gauge);
    g_string_append_printf(s, " %lld\n", (long long)v);
}

static void put_lesson_gauge(GString *s, const char *name, const char *help,
                             const cc_metrics_lesson *ls, int n, size_t off, const char *role)
{
    g_string_append_printf(s, "# HELP classcast_lesson_%s %s\n# TYPE classcast_lesson_%s gauge\n",
                           name, help, name);
    for (int i = 0; i < n; i++) {
        int v = *(const int *)((const char *)&ls[i] + off);
        g_string_append_printf(s, "classcast_lesson_%s{lesson=\"%u\",state=\"%s\"%s%s%s} %d\n",
                               name, (unsigned)ls[i].room_id, ls[i].state ? ls[i].state : "",
                               role ? ",role=\"" : "", role ? role : "", role ? "\"" : "", v);
    }
}

char *cc_metrics_text(const json_t *stats, const cc_metrics_lesson *lessons, int n_lessons)
{
    GString *s = g_string_sized_new(8192);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)stats, key, v) {
        if (json_is_integer(v)) {
            put_sample(s, "", key, json_integer_value(v));
        } else if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2)
                if (json_is_integer(v2))
                    put_sample(s, key, k2, json_integer_value(v2));
        }
    }
    if (n_lessons > 0 && lessons) {
        g_string_append(s, "# HELP classcast_lesson_members Members of a lesson by role "
                           "(waiting: in the waiting room).\n"
                           "# TYPE classcast_lesson_members gauge\n");
        for (int i = 0; i < n_lessons; i++) {
            const cc_metrics_lesson *l = &lessons[i];
            const char *roles[] = {"teacher", "student", "school", "waiting"};
            int counts[] = {l->teachers, l->students, l->schools, l->waiting};
            for (int k = 0; k < 4; k++)
                g_string_append_printf(s,
                                       "classcast_lesson_members{lesson=\"%u\",state=\"%s\","
                                       "role=\"%s\"} %d\n",
                                       (unsigned)l->room_id, l->state ? l->state : "", roles[k],
                                       counts[k]);
        }
        put_lesson_gauge(s, "publishing", "Members of a lesson sending media.", lessons,
                         n_lessons, offsetof(cc_metrics_lesson, publishing), NULL);
        put_lesson_gauge(s, "watching", "Members of a lesson receiving media.", lessons,
                         n_lessons, offsetof(cc_metrics_lesson, watching), NULL);
        put_lesson_gauge(s, "weak_link", "Members receiving over a weak link (fewer camera frames).",
                         lessons, n_lessons, offsetof(cc_metrics_lesson, weak_link), NULL);
        put_lesson_gauge(s, "frozen", "Members whose pictures froze (their page decoded no frame "
                         "for over 2 s).", lessons, n_lessons, offsetof(cc_metrics_lesson, frozen),
                         NULL);
    }
    return g_string_free(s, FALSE);
}
