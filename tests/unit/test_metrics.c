/* GET /metrics text (include/classcast/metrics.h): every integer of the
 * /stats object becomes one sample with its TYPE line, counters end in
 * _total, levels are gauges, lessons are labelled by room id, odd keys
 * cannot break the format. */
#include <jansson.h>
#include <stdlib.h>

#include "cc_test.h"
#include "classcast/metrics.h"

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == 0))
            return 1;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

/* Every line is a comment or `name{labels} value` with a legal name. */
static int well_formed(const char *text)
{
    char *copy = strdup(text);
    int ok = 1;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#')
            continue;
        size_t i = 0;
        if (!((l[0] >= 'a' && l[0] <= 'z') || (l[0] >= 'A' && l[0] <= 'Z') || l[0] == '_'))
            ok = 0;
        while (l[i] && l[i] != '{' && l[i] != ' ') {
            char ch = l[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == ':'))
                ok = 0;
            i++;
        }
        if (!strchr(l, ' '))
            ok = 0;
    }
    free(copy);
    return ok;
}

static void test_counters_and_gauges(void)
{
    json_t *stats = json_loads("{\"peers\":5,\"lessons\":2,"
                               "\"counters\":{\"udp_rx\":100,\"dtls_handshaking\":1},"
                               "\"sfu\":{\"rtp_out\":7,\"rooms\":2,\"drop_muted\":3},"
                               "\"http\":{\"conns_open\":9},"
                               "\"control\":{\"wrong_tries\":4,\"odd key-é\":1,\"text\":\"x\"}}",
                               0, NULL);
    CC_CHECK(stats != NULL);
    cc_metrics_lesson ls[2] = {
        {.room_id = 3, .state = "live", .teachers = 1, .students = 30, .schools = 2,
         .waiting = 1, .publishing = 3, .watching = 33, .weak_link = 2,
         .frozen = 4},
        {.room_id = 4, .state = "waiting", .teachers = 1},
    };
    char *t = cc_metrics_text(stats, ls, 2);
    CC_CHECK(t != NULL);
    CC_CHECK(has_line(t, "# TYPE classcast_peers gauge"));
    CC_CHECK(has_line(t, "classcast_peers 5"));
    CC_CHECK(has_line(t, "# TYPE classcast_counters_udp_rx_total counter"));
    CC_CHECK(has_line(t, "classcast_counters_udp_rx_total 100"));
    CC_CHECK(has_line(t, "classcast_counters_dtls_handshaking 1"));
    CC_CHECK(has_line(t, "classcast_sfu_drop_muted_total 3"));
    CC_CHECK(has_line(t, "classcast_sfu_rooms 2"));
    CC_CHECK(has_line(t, "classcast_http_conns_open 9"));
    CC_CHECK(has_line(t, "classcast_control_wrong_tries_total 4"));
    CC_CHECK(strstr(t, "text") == NULL || !has_line(t, "classcast_control_text_total x"));
    CC_CHECK(has_line(t, "classcast_lesson_members{lesson=\"3\",state=\"live\",role=\"student\"} 30"));
    CC_CHECK(has_line(t, "classcast_lesson_members{lesson=\"3\",state=\"live\",role=\"school\"} 2"));
    CC_CHECK(has_line(t, "classcast_lesson_members{lesson=\"3\",state=\"live\",role=\"waiting\"} 1"));
    CC_CHECK(has_line(t, "classcast_lesson_watching{lesson=\"3\",state=\"live\"} 33"));
    CC_CHECK(has_line(t, "classcast_lesson_weak_link{lesson=\"3\",state=\"live\"} 2"));
    CC_CHECK(has_line(t, "classcast_lesson_frozen{lesson=\"3\",state=\"live\"} 4"));
    CC_CHECK(has_line(t, "classcast_lesson_frozen{lesson=\"4\",state=\"waiting\"} 0"));
    CC_CHECK(has_line(t, "classcast_lesson_publishing{lesson=\"4\",state=\"waiting\"} 0"));
    CC_CHECK(well_formed(t));
    free(t);
    /* No lessons: only the counters. */
    t = cc_metrics_text(stats, NULL, 0);
    CC_CHECK(t && !strstr(t, "classcast_lesson_"));
    CC_CHECK(well_formed(t));
    free(t);
    json_decref(stats);
}

int main(void)
{
    CC_RUN(test_counters_and_gauges);
    CC_TEST_DONE();
}
