/* classcast: GET /metrics, the counters of GET /stats and per-lesson gauges
 * in the Prometheus text exposition format (version 0.0.4: `# TYPE` lines,
 * `name{label="value"} number`, one sample a line).
 * Pure: builds text from what the caller gathered. Thread: any. */
#ifndef CLASSCAST_METRICS_H
#define CLASSCAST_METRICS_H

#include <jansson.h>
#include <stdint.h>

/* One lesson's gauges. Lessons are labelled by their room id, never by
 * their code (a code lets anyone join). */
typedef struct cc_metrics_lesson {
    uint32_t room_id;
    const char *state;  /* "waiting" | "live" | "ended" */
    int teachers, students, schools, waiting;
    int publishing, watching, weak_link;
    int frozen;         /* watching, but their page decodes no frame */
} cc_metrics_lesson;

/* stats: the object GET /stats answers ({"peers":N,"lessons":N,
 * "counters":{...},"sfu":{...},"http":{...},"control":{...}}). Integer
 * members become `classcast_<group>_<name>` (counters get `_total`; the
 * few that are levels, such as open connections, are gauges). Returns
 * malloc'd text, or NULL when out of memory. */
char *cc_metrics_text(const json_t *stats, const cc_metrics_lesson *lessons, int n_lessons);

#endif
