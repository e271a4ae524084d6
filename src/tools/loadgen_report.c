/* classcast-loadgen: what a run reports: the summary on stdout and in
 * --json (receive statistics, latency, joins, the bell, the check), and
 * the benchmark contract line of scripts/bench/fanout. */
#include "loadgen_int.h"

/* ---- report ---- */

const char *cc_lg_ep_state(const ep *e)
{
    if (!e->client)
        return e->error[0] ? "setup-failed" : "not-started";
    return cc_client_state_name(cc_client_get_state(e->client));
}

/* ---- joins ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static double pct_sorted(const double *v, int n, double q)
{
    int k = (int)(q * n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/* The subscribers whose joins are reported: the bell's joiners, or every
 * subscriber when there is no bell. */
static int join_counted(const lg *g, const ep *e)
{
    return g->cfg->bell_joiners > 0 ? e->joiner : 1;
}

/* Milliseconds from the subscriber's POST to stage k (0 answer, 1 ICE
 * done, 2 SRTP keys, 3 first RTP, 4 first video, 5 first complete
 * keyframe), or -1 when it never happened. */
#define JOIN_STAGES 6
static const char *const join_stage_name[JOIN_STAGES] = {
    "answer_ms", "ice_ms", "srtp_ms", "first_rtp_ms", "first_video_ms", "keyframe_ms"};

static double join_stage_ms(const ep *e, int k)
{
    const cc_client_stats *cs = e->client ? cc_client_get_stats(e->client) : NULL;
    cc_time_us at = 0;
    switch (k) {
    case 0: at = e->post_rc == 0 ? e->answered_at : 0; break;
    case 1: at = cs ? cs->ice_done_at : 0; break;
    case 2: at = cs ? cs->connected_at : 0; break;
    case 3: at = e->first_rtp_at; break;
    case 4: at = e->first_video_at; break;
    default: at = e->kf_done_at; break;
    }
    return at && e->post_at ? (double)(at - e->post_at) / 1000.0 : -1;
}

/* {"subscribers":n, "<stage>":{"n","p50","p95","max"} ...,
 *  "no_keyframe":k}; NULL when no subscriber is counted. */
static json_t *join_json(const lg *g)
{
    double *v = calloc((size_t)(g->n_subs ? g->n_subs : 1), sizeof *v);
    if (!v)
        return NULL;
    json_t *o = json_object();
    int counted = 0, no_kf = 0;
    for (int i = 0; i < g->n_subs; i++)
        if (join_counted(g, &g->subs[i])) {
            counted++;
            no_kf += join_stage_ms(&g->subs[i], 5) < 0;
        }
    for (int k = 0; k < JOIN_STAGES; k++) {
        int n = 0;
        for (int i = 0; i < g->n_subs; i++) {
            double ms = join_counted(g, &g->subs[i]) ? join_stage_ms(&g->subs[i], k) : -1;
            if (ms >= 0)
                v[n++] = ms;
        }
        if (!n)
            continue;
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        json_object_set_new(o, join_stage_name[k],
                            json_pack("{s:i,s:f,s:f,s:f}", "n", n, "p50", pct_sorted(v, n, 0.5),
                                      "p95", pct_sorted(v, n, 0.95), "max", v[n - 1]));
        if (k == JOIN_STAGES - 1 && n <= 1000) {
            /* Every value, sorted: a caller pools them with its own
             * (scripts/bench/join adds its browsers'). */
            json_t *all = json_array();
            for (int i = 0; i < n; i++)
                json_array_append_new(all, json_real((double)(int64_t)(v[i] * 10 + 0.5) / 10));
            json_object_set_new(o, "keyframe_ms_all", all);
        }
    }
    free(v);
    if (!counted) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "subscribers", json_integer(counted));
    json_object_set_new(o, "no_keyframe", json_integer(no_kf));
    json_object_set_new(o, "measured_from", json_string("the subscriber's WHEP POST"));
    return o;
}

/* The bell's summary: when, how many joiners, the watchers' latency
 * before and during it. */
static json_t *bell_json(const lg *g)
{
    const cc_loadgen_config *c = g->cfg;
    json_t *o = json_pack("{s:f,s:i,s:i,s:f,s:f,s:b}", "at_unix", c->bell_at_unix, "joiners",
                          c->bell_joiners, "watchers", g->n_watch, "spread_s", c->bell_spread_s,
                          "watch_s", (double)(g->bell_end - g->bell_mono) / 1e6, "late", g->bell_late);
    const lat_hist *h[2] = {&g->lat_calm, &g->lat_bell};
    const char *name[2] = {"watchers_before", "watchers_during"};
    for (int k = 0; k < 2; k++) {
        if (!h[k]->b || !h[k]->n)
            continue;
        json_object_set_new(o, name[k], json_pack("{s:I,s:f,s:f,s:f}", "samples", (json_int_t)h[k]->n,
                                                  "latency_p50_ms", cc_lg_hist_q(h[k], 0.5) / 1000,
                                                  "latency_p99_ms", cc_lg_hist_q(h[k], 0.99) / 1000,
                                                  "latency_max_ms", (double)h[k]->max / 1000));
    }
    return o;
}

int cc_lg_report(lg *g, double measured_s, double cpu_s, int setup_failed)
{
    const cc_loadgen_config *cfg = g->cfg;
    uint64_t pk[2] = {0}, bytes = 0, lost = 0, dups = 0, exp = 0, nacks = 0,
             nseq = 0, auth_fail = 0, unmatched = 0, rr = 0, too_old = 0, impaired = 0;
    int n_conn = 0, n_fail = 0, n_empty = 0, n_lossy = 0, n_verified = 0;
    lat_hist all = {.b = calloc(H_N, sizeof(uint32_t))};
    lat_hist all_read = {.b = calloc(H_N, sizeof(uint32_t))};
    lat_hist conn = {.b = calloc(H_N, sizeof(uint32_t))};
    json_t *jsubs = json_array();
    for (int i = 0; i < g->n_subs; i++) {
        ep *e = &g->subs[i];
        int ok = e->client && cc_client_get_stats(e->client)->connected_at;
        n_conn += ok;
        n_fail += !ok;
        uint64_t el = 0, ed = 0, ee = 0;
        for (int k = 0; k < 2; k++) {
            pk[k] += e->rx[k].packets;
            bytes += e->rx[k].bytes;
            el += cc_lg_rx_lost(&e->rx[k]);
            ed += e->rx[k].dups;
            ee += cc_lg_rx_expected(&e->rx[k]);
            too_old += e->rx[k].too_old;
        }
        int empty = ok && (!e->rx[0].packets || !e->rx[1].packets);
        n_empty += empty;
        n_lossy += el > 0;
        lost += el;
        dups += ed;
        exp += ee;
        nacks += e->nacks_sent;
        impaired += e->impaired;
        nseq += e->nack_seqs;
        rr += e->rr_sent;
        auth_fail += e->rtp_auth_fail;
        unmatched += e->lat_unmatched;
        n_verified += e->verify;
        if (ok && conn.b) {
            cc_lg_hist_merge(&all, &e->lat);
            cc_lg_hist_merge(&all_read, &e->lat_read);
        }
        if (ok && conn.b)
            cc_lg_hist_add(&conn, cc_client_get_stats(e->client)->connected_at - e->post_at);
        if (cfg->per_subscriber)
            printf("  sub %3d %-10s %s video %6llu audio %5llu lost %llu dup %llu nack %llu"
                   " lat p50 %.2f ms%s%s\n",
                   i, cc_lg_ep_state(e), e->verify ? "srtp-verified" : "seq-only     ",
                   (unsigned long long)e->rx[0].packets, (unsigned long long)e->rx[1].packets,
                   (unsigned long long)el, (unsigned long long)ed,
                   (unsigned long long)e->nack_seqs, e->lat.b ? cc_lg_hist_q(&e->lat, 0.5) / 1000 : 0.0,
                   e->error[0] ? " error: " : "", e->error);
        json_t *js = json_pack("{s:i,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
                               "index", i, "state", cc_lg_ep_state(e), "srtp_verified", e->verify,
                               "video_packets", (json_int_t)e->rx[0].packets,
                               "audio_packets", (json_int_t)e->rx[1].packets,
                               "bytes", (json_int_t)(e->rx[0].bytes + e->rx[1].bytes),
                               "expected", (json_int_t)ee, "lost", (json_int_t)el,
                               "duplicates", (json_int_t)ed,
                               "nack_seqs", (json_int_t)e->nack_seqs,
                               "rr_sent", (json_int_t)e->rr_sent, "error", e->error);
        if (js && e->lat.b && e->lat.n) {
            json_object_set_new(js, "latency_p50_ms", json_real(cc_lg_hist_q(&e->lat, 0.5) / 1000));
            json_object_set_new(js, "latency_p99_ms", json_real(cc_lg_hist_q(&e->lat, 0.99) / 1000));
        }
        if (js)
            json_array_append_new(jsubs, js);
    }
    const cc_sender_stats *ps = g->pub && g->pub->sender ? cc_sender_get_stats(g->pub->sender) : NULL;
    printf("classcast-loadgen: %d subscribers (%d connected, %d failed), measured %.1f s\n",
           g->n_subs, n_conn, n_fail, measured_s);
    if (ps)
        printf("publisher: sent video %llu packets, audio %llu packets (%.0f kbit/s), "
               "NACKed seqs %llu, resent %llu, PLI %llu\n",
               (unsigned long long)ps->packets[0], (unsigned long long)ps->packets[1],
               measured_s > 0 ? (double)(ps->bytes[0] + ps->bytes[1]) * 8 / 1000 /
                                    (measured_s + 1e-9) : 0.0,
               (unsigned long long)ps->nack_received, (unsigned long long)ps->resent,
               (unsigned long long)ps->pli_received);
    printf("srtp: %d subscriber(s) authenticated every packet (SRTP unprotect); %d counted by "
           "RTP header sequence only (not authenticated)\n",
           n_verified, g->n_subs - n_verified);
    if (g->multi) {
        const cc_udp_stats *us = cc_udp_get_stats(g->multi);
        printf("sockets: one for all subscribers (--sub-net, port %u): %llu datagrams in %llu "
               "recvmmsg calls, %llu to an address of no subscriber\n",
               cc_addr_port(cc_udp_local(g->multi)), (unsigned long long)us->rx_packets,
               (unsigned long long)us->rx_syscalls, (unsigned long long)g->rx_unknown_dst);
    }
    printf("received: %llu packets (video %llu, audio %llu), %.1f MB, expected %llu, "
           "lost %llu (%.4f%%), duplicates %llu, too old %llu, auth failures %llu\n",
           (unsigned long long)(pk[0] + pk[1]), (unsigned long long)pk[0],
           (unsigned long long)pk[1], (double)bytes / 1e6, (unsigned long long)exp,
           (unsigned long long)lost, exp ? 100.0 * (double)lost / (double)exp : 0.0,
           (unsigned long long)dups, (unsigned long long)too_old,
           (unsigned long long)auth_fail);
    printf("feedback: %llu NACKs (%llu seqs), %llu receiver reports sent\n",
           (unsigned long long)nacks, (unsigned long long)nseq, (unsigned long long)rr);
    if (cfg->impair_loss_pct > 0)
        printf("impairment: %llu received video packets dropped on purpose (%.2f%%); lost counts "
               "what NACK repair did not bring back\n",
               (unsigned long long)impaired, cfg->impair_loss_pct);
    if (all.n)
        printf("latency (publisher send -> subscriber receive, same clock, SRTP-verified "
               "subscribers, %llu samples, %llu unmatched): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
               "max %.2f ms\n",
               (unsigned long long)all.n, (unsigned long long)unmatched,
               cc_lg_hist_q(&all, 0.5) / 1000, cc_lg_hist_q(&all, 0.9) / 1000, cc_lg_hist_q(&all, 0.99) / 1000,
               (double)all.max / 1000);
    if (all_read.n)
        printf("latency to the load generator's read (its own queue included): p50 %.2f ms, "
               "p99 %.2f ms, max %.2f ms\n",
               cc_lg_hist_q(&all_read, 0.5) / 1000, cc_lg_hist_q(&all_read, 0.99) / 1000,
               (double)all_read.max / 1000);
    else
        printf("latency: no samples (%s)\n", g->pub ? "no SRTP-verified subscriber received media"
                                                    : "needs the built-in publisher (--whip)");
    if (all.n && g->lat_sec) {
        printf("latency by second of the window (samples, >5 ms, >50 ms, max ms):");
        for (int i = 0; i < g->n_lat_sec; i++)
            if (g->lat_sec[i].n)
                printf(" %d:%llu/%llu/%llu/%.1f", i, (unsigned long long)g->lat_sec[i].n,
                       (unsigned long long)g->lat_sec[i].over5ms,
                       (unsigned long long)g->lat_sec[i].over50ms,
                       (double)g->lat_sec[i].max / 1000);
        printf("\n");
    }
    if (conn.n)
        printf("setup (POST -> SRTP keys): p50 %.1f ms, max %.1f ms\n",
               cc_lg_hist_q(&conn, 0.5) / 1000, (double)conn.max / 1000);
    json_t *jj = join_json(g);
    json_t *kf = jj ? json_object_get(jj, "keyframe_ms") : NULL;
    if (kf)
        printf("join (%s, POST -> first complete keyframe): p50 %.1f ms, p95 %.1f ms, max %.1f ms, "
               "%lld without a keyframe\n",
               cfg->bell_joiners > 0 ? "the bell's joiners" : "every subscriber",
               json_real_value(json_object_get(kf, "p50")), json_real_value(json_object_get(kf, "p95")),
               json_real_value(json_object_get(kf, "max")),
               (long long)json_integer_value(json_object_get(jj, "no_keyframe")));
    json_decref(jj);
    if (cfg->bell_joiners > 0 && g->lat_bell.b) {
        printf("bell: %d joiners at +%.2f s of the window over %.2f s%s; watchers' latency before: "
               "p99 %.2f ms (%llu samples), during: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%llu samples)\n",
               cfg->bell_joiners, g->measure_start ? (double)(g->bell_mono - g->measure_start) / 1e6 : 0.0,
               cfg->bell_spread_s, g->bell_late ? " (LATE: the window opened after the bell)" : "",
               cc_lg_hist_q(&g->lat_calm, 0.99) / 1000, (unsigned long long)g->lat_calm.n,
               cc_lg_hist_q(&g->lat_bell, 0.5) / 1000, cc_lg_hist_q(&g->lat_bell, 0.99) / 1000,
               (double)g->lat_bell.max / 1000, (unsigned long long)g->lat_bell.n);
    }
    printf("cpu: %.2f s (%.0f%% of one core over the run)\n", cpu_s,
           measured_s > 0 ? 100.0 * cpu_s / measured_s : 0.0);
    int fail = 0;
    if (cfg->check) {
        if (setup_failed || n_fail) {
            printf("CHECK FAILED: %d subscriber(s) did not connect%s\n", n_fail,
                   setup_failed ? " (or the publisher failed)" : "");
            fail = 1;
        }
        if (n_empty) {
            printf("CHECK FAILED: %d subscriber(s) received no video or no audio\n", n_empty);
            fail = 1;
        }
        if (n_lossy) {
            printf("CHECK FAILED: %d subscriber(s) lost packets (%llu in all)\n", n_lossy,
                   (unsigned long long)lost);
            fail = 1;
        }
        if (!fail)
            printf("check passed: every subscriber connected, received video and audio, lost nothing\n");
    }
    if (cfg->json_path) {
        json_t *root = json_pack(
            "{s:i,s:i,s:i,s:f,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:b,s:o}",
            "subscribers", g->n_subs, "connected", n_conn, "failed", n_fail,
            "measured_s", measured_s, "srtp_verified_subscribers", n_verified,
            "video_packets", (json_int_t)pk[0], "audio_packets", (json_int_t)pk[1],
            "bytes", (json_int_t)bytes, "expected", (json_int_t)exp, "lost", (json_int_t)lost,
            "duplicates", (json_int_t)dups, "cpu_s", cpu_s, "check_passed", !fail,
            "per_subscriber", jsubs);
        jsubs = NULL;
        if (root && all.n) {
            json_object_set_new(root, "latency_p50_ms", json_real(cc_lg_hist_q(&all, 0.5) / 1000));
            json_object_set_new(root, "latency_p99_ms", json_real(cc_lg_hist_q(&all, 0.99) / 1000));
            json_object_set_new(root, "latency_max_ms", json_real((double)all.max / 1000));
            json_object_set_new(root, "latency_samples", json_integer((json_int_t)all.n));
        }
        if (root && all_read.n)
            json_object_set_new(root, "latency_read_p99_ms",
                                json_real(cc_lg_hist_q(&all_read, 0.99) / 1000));
        if (root && ps) {
            json_object_set_new(root, "publisher_video_packets", json_integer((json_int_t)ps->packets[0]));
            json_object_set_new(root, "publisher_audio_packets", json_integer((json_int_t)ps->packets[1]));
        }
        json_object_set_new(root, "latency_method",
                            json_string("publisher send time matched by RTP payload fingerprint, to the "
                                        "kernel's receive time (SO_TIMESTAMPNS) on the shared socket"));
        json_t *jn = join_json(g);
        if (root && jn)
            json_object_set_new(root, "join", jn);
        else
            json_decref(jn);
        if (root && cfg->bell_joiners > 0)
            json_object_set_new(root, "bell", bell_json(g));
        if (!root || json_dump_file(root, cfg->json_path, JSON_INDENT(2)) != 0)
            fprintf(stderr, "loadgen: cannot write %s\n", cfg->json_path);
        json_decref(root);
    }
    json_decref(jsubs);
    free(all.b);
    free(all_read.b);
    free(conn.b);
    return fail;
}

/* The benchmark contract (scripts/bench/fanout): one JSON line on stdout,
 * counted over the measurement window only. */
void cc_lg_print_contract_json(lg *g, double measured_s, double cpu_s)
{
    uint64_t rcv = 0, lost = 0, dup = 0, lost_seq = 0, undelivered = 0;
    int n_conn = 0, silent = 0;
    lat_hist all = {.b = calloc(H_N, sizeof(uint32_t))};
    lat_hist all_read = {.b = calloc(H_N, sizeof(uint32_t))};
    for (int i = 0; i < g->n_subs; i++) {
        ep *e = &g->subs[i];
        int ok = e->client && cc_client_get_stats(e->client)->connected_at;
        if (!ok)
            continue;
        n_conn++;
        uint64_t got = 0, gap = 0;
        for (int k = 0; k < 2; k++) {
            const rx_stream *r = &e->rx[k];
            uint64_t u = r->unique - r->w_unique, x = cc_lg_rx_expected(r) - r->w_expected;
            got += u;
            rcv += u;
            gap += x > u ? x - u : 0;
            dup += r->dups - r->w_dups;
        }
        /* Sequence gaps miss what never arrived at all: a subscriber whose
         * packets still sit in a queue (or were dropped after its last
         * arrival) at the end of the drain. Every packet the publisher
         * sent in the window should have arrived by then. */
        uint64_t shortfall = g->pub && g->pub_w_packets > got ? g->pub_w_packets - got : 0;
        lost_seq += gap;
        undelivered += shortfall;
        lost += gap > shortfall ? gap : shortfall;
        silent += got == 0;
        cc_lg_hist_merge(&all, &e->lat);
        cc_lg_hist_merge(&all_read, &e->lat_read);
    }
    json_t *o = json_object();
    json_object_set_new(o, "subscribers", json_integer(n_conn));
    json_object_set_new(o, "subscribers_failed", json_integer(g->n_subs - n_conn));
    json_object_set_new(o, "subscribers_silent", json_integer(silent));
    json_object_set_new(o, "packets_received", json_integer((json_int_t)rcv));
    json_object_set_new(o, "lost", json_integer((json_int_t)lost));
    json_object_set_new(o, "dup", json_integer((json_int_t)dup));
    json_object_set_new(o, "lost_seq_gaps", json_integer((json_int_t)lost_seq));
    json_object_set_new(o, "undelivered", json_integer((json_int_t)undelivered));
    json_object_set_new(o, "latency_p50_us", all.n ? json_real(cc_lg_hist_q(&all, 0.5)) : json_null());
    json_object_set_new(o, "latency_p99_us", all.n ? json_real(cc_lg_hist_q(&all, 0.99)) : json_null());
    json_object_set_new(o, "latency_max_us", json_integer((json_int_t)all.max));
    json_object_set_new(o, "latency_samples", json_integer((json_int_t)all.n));
    json_object_set_new(o, "latency_read_p50_us",
                        all_read.n ? json_real(cc_lg_hist_q(&all_read, 0.5)) : json_null());
    json_object_set_new(o, "latency_read_p99_us",
                        all_read.n ? json_real(cc_lg_hist_q(&all_read, 0.99)) : json_null());
    json_object_set_new(o, "duration_s", json_real(measured_s));
    json_object_set_new(o, "window_start_unix", json_real(g->window_start_unix));
    json_object_set_new(o, "window_end_unix", json_real(g->window_end_unix));
    json_object_set_new(o, "setup_s", json_real(g->setup_s));
    if (g->pub) {
        json_object_set_new(o, "packets_sent", json_integer((json_int_t)g->pub_w_packets));
        if (measured_s > 0) {
            json_object_set_new(o, "video_kbps", json_real((double)g->pub_w_bytes[0] * 8 / 1000 / measured_s));
            json_object_set_new(o, "audio_kbps", json_real((double)g->pub_w_bytes[1] * 8 / 1000 / measured_s));
        }
    }
    int nv = 0;
    for (int i = 0; i < g->n_subs; i++)
        nv += g->subs[i].verify;
    json_object_set_new(o, "srtp_verified_subscribers", json_integer(nv));
    json_object_set_new(o, "loadgen_cpu_s", json_real(cpu_s));
    json_t *jj = join_json(g);
    if (jj)
        json_object_set_new(o, "join", jj);
    if (g->cfg->bell_joiners > 0)
        json_object_set_new(o, "bell", bell_json(g));
    if (g->lat_sec) {
        /* [samples, over 5 ms, over 50 ms, max us] per second of the window */
        json_t *a = json_array();
        for (int i = 0; i < g->n_lat_sec && i < (int)measured_s + 1; i++)
            json_array_append_new(a, json_pack("[IIII]", (json_int_t)g->lat_sec[i].n,
                                               (json_int_t)g->lat_sec[i].over5ms,
                                               (json_int_t)g->lat_sec[i].over50ms,
                                               (json_int_t)g->lat_sec[i].max));
        json_object_set_new(o, "latency_by_second", a);
    }
    char *txt = json_dumps(o, JSON_COMPACT);
    if (txt)
        printf("%s\n", txt);
    fflush(stdout);
    free(txt);
    json_decref(o);
    free(all.b);
    free(all_read.b);
}
