/* classcast-loadgen --churn RATE (docs/loadgen.md, "Churn"): once the N
 * subscribers are set up, RATE times a second the oldest one leaves and a
 * new one joins in its place, so N stay live, every subscriber lives about
 * N / RATE seconds, and RATE joins and RATE leaves happen each second.
 *
 * A leave frees the client transport at once (nothing more is sent or
 * read on it, as when a browser tab closes), then DELETEs the WHEP session
 * on an HTTP thread; the socket stays open until the DELETE is answered,
 * so the server, which stops sending once it has removed the peer, never
 * sends that life's stream to a port a later subscriber may get. The join
 * that follows prepares a new socket and offer on the loop thread (no
 * network I/O) and POSTs on an HTTP thread; the answer becomes a client
 * on the loop thread. HTTP never runs on the loop thread: a slow answer
 * delays one subscriber's join, not every subscriber's media (the loop's
 * longest stall is measured and reported).
 *
 * A slot (g->subs[i]) is touched by one thread at a time: the loop while
 * it is LIVE, an HTTP thread between queueing its job and handing the slot
 * back through the done list (the mutex orders the two). */
#include "loadgen_int.h"

/* Enough for 20 joins and 20 leaves a second with answers of ~50 ms (an
 * ASan server on a busy machine) without a queue building up. */
#define CHURN_HTTP_THREADS 4
/* A life's packets, losses and latency count when it was connected this
 * long: a shorter one can end before its first keyframe (the SFU forwards
 * video from a keyframe on), which says nothing about the server. */
#define CHURN_MIN_LIFE (2 * CC_USEC_PER_SEC)
/* Leaves started in one loop turn at most, and how far behind schedule the
 * loop may fall before the missed turns are dropped (and counted): after a
 * long stall, a burst of catch-up leaves would only add to the load. */
#define CHURN_MAX_PER_TURN 8
#define CHURN_MAX_BEHIND CC_USEC_PER_SEC
#define CHURN_ERRORS 5 /* first errors kept for the report */

/* GONE: its last session ended with the run, no life left to count. */
enum { SLOT_LIVE = 0, SLOT_LEAVING, SLOT_JOINING, SLOT_GONE };
enum { JOB_POST = 1, JOB_DELETE };

typedef struct churn_job {
    int idx, kind;
} churn_job;

struct lg_churn {
    /* Shared with the HTTP threads, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    churn_job *todo; /* ring of cap: one job per slot at most */
    int todo_head, todo_len;
    int *done, n_done; /* slots whose job finished */
    /* Loop thread only. */
    pthread_t threads[CHURN_HTTP_THREADS];
    int n_threads;
    int cap;
    int *done_copy;
    unsigned char *state;   /* SLOT_* */
    unsigned char *churned; /* the slot's life joined during the churn */
    int outstanding;        /* jobs queued or running */
    int cursor;
    cc_time_us period, next_at;
    uint64_t joins, joins_connected, leaves, leave_errors;
    uint64_t fail_http, fail_prepare, fail_connect, dropped;
    uint64_t initial_failed, skipped, behind;
    uint64_t lives, measured, short_lives, empty;
    uint64_t pk[2], bytes, lost, expected, dups, too_old, nack_seqs;
    uint64_t auth_fail, before_keys; /* SRTP-verified lives: failed
                                      * authentication or replay; media
                                      * that came before the keys */
    lat_hist lat;  /* publisher -> verified subscriber, every measured life */
    lat_hist join; /* POST -> SRTP keys */
    lat_hist post; /* POST round trip */
    cc_time_us delete_max, step_max, step_max_cpu;
    char errors[CHURN_ERRORS][240];
    int n_errors;
};

static void note_error(struct lg_churn *c, int idx, const char *what, const char *why)
{
    if (c->n_errors < CHURN_ERRORS)
        snprintf(c->errors[c->n_errors++], sizeof c->errors[0], "slot %d: %s: %.190s", idx,
                 what, why);
}

static void *churn_thread(void *ud)
{
    lg *g = ud;
    struct lg_churn *c = g->churn;
    pthread_mutex_lock(&c->mu);
    /* Ends when told to stop and the queue is empty: every queued job is
     * done, so every slot comes back to the loop. */
    while (!c->stop || c->todo_len) {
        if (!c->todo_len) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        churn_job j = c->todo[c->todo_head];
        c->todo_head = (c->todo_head + 1) % c->cap;
        c->todo_len--;
        pthread_mutex_unlock(&c->mu);
        ep *e = &g->subs[j.idx];
        if (j.kind == JOB_POST) {
            cc_lg_ep_post(g, e);
        } else {
            cc_time_us t0 = cc_clock_mono_us();
            e->del_rc = cc_whipc_delete(e->location, g->cfg->whep_token, 2000);
            e->del_us = cc_clock_mono_us() - t0;
        }
        pthread_mutex_lock(&c->mu);
        c->done[c->n_done++] = j.idx;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void queue_job(struct lg_churn *c, int idx, int kind)
{
    pthread_mutex_lock(&c->mu);
    c->todo[(c->todo_head + c->todo_len) % c->cap] = (churn_job){idx, kind};
    c->todo_len++;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    c->outstanding++;
}

/* The end of slot i's current life: count it. */
static void retire(lg *g, int i, cc_time_us now)
{
    struct lg_churn *c = g->churn;
    ep *e = &g->subs[i];
    c->lives++;
    if (!e->client) {
        /* The join failed before a transport existed: counted then (or,
         * for the initial subscribers, at the start). */
        return;
    }
    const cc_client_stats *st = cc_client_get_stats(e->client);
    if (!st->connected_at) {
        if (c->churned[i]) {
            c->fail_connect++;
            char why[96];
            snprintf(why, sizeof why, "%s after %.1f s", cc_lg_ep_state(e),
                     (double)(now - e->post_at) / 1e6);
            note_error(c, i, "not connected", why);
        } else {
            c->initial_failed++;
        }
        return;
    }
    if (c->churned[i])
        c->joins_connected++;
    cc_lg_hist_add(&c->join, st->connected_at - e->post_at);
    if (!cc_lg_connected(e)) {
        c->dropped++; /* consent lost or closed while it should have lived */
        note_error(c, i, "transport ended early", cc_lg_ep_state(e));
    }
    if (now - st->connected_at < CHURN_MIN_LIFE) {
        c->short_lives++;
        return;
    }
    c->measured++;
    for (int k = 0; k < 2; k++) {
        const rx_stream *r = &e->rx[k];
        c->pk[k] += r->packets;
        c->bytes += r->bytes;
        c->lost += cc_lg_rx_lost(r);
        c->expected += cc_lg_rx_expected(r);
        c->dups += r->dups;
        c->too_old += r->too_old;
    }
    c->nack_seqs += e->nack_seqs;
    c->auth_fail += st->drop_srtp_auth;
    c->before_keys += st->drop_before_keys;
    c->empty += !e->rx[0].packets || !e->rx[1].packets;
    cc_lg_hist_merge(&c->lat, &e->lat);
}

/* A new life in slot i: fresh socket, credentials and offer here, the
 * POST on an HTTP thread. */
static void rejoin(lg *g, int i)
{
    struct lg_churn *c = g->churn;
    ep *e = &g->subs[i];
    int idx = e->idx, verify = e->verify;
    cc_lg_ep_close(g, e);
    memset(e, 0, sizeof *e);
    e->idx = idx;
    e->verify = verify;
    atomic_init(&e->post_done, 0);
    c->churned[i] = 1;
    c->joins++;
    if (cc_lg_ep_prepare(g, e) != 0) {
        c->fail_prepare++;
        note_error(c, i, "join", e->error);
        e->finished = 1;
        c->state[i] = SLOT_LIVE; /* retried at its next turn */
        return;
    }
    c->state[i] = SLOT_JOINING;
    queue_job(c, i, JOB_POST);
}

static void leave(lg *g, int i, cc_time_us now)
{
    struct lg_churn *c = g->churn;
    ep *e = &g->subs[i];
    retire(g, i, now);
    cc_client_free(e->client);
    e->client = NULL;
    if (!e->location[0]) {
        rejoin(g, i); /* its join failed: no session to end */
        return;
    }
    c->state[i] = SLOT_LEAVING;
    queue_job(c, i, JOB_DELETE);
}

/* An HTTP job of slot i finished. `last`: the run is over, no new life. */
static void job_done(lg *g, int i, cc_time_us now, int last)
{
    struct lg_churn *c = g->churn;
    ep *e = &g->subs[i];
    c->outstanding--;
    if (c->state[i] == SLOT_LEAVING) {
        if (e->del_rc == 0) {
            c->leaves++;
        } else {
            c->leave_errors++;
            note_error(c, i, "DELETE", cc_strerror(e->del_rc));
        }
        if (e->del_us > c->delete_max)
            c->delete_max = e->del_us;
        e->location[0] = 0;
        if (last) {
            cc_lg_ep_close(g, e);
            c->state[i] = SLOT_GONE;
            e->finished = 1;
            return;
        }
        rejoin(g, i);
        return;
    }
    c->state[i] = SLOT_LIVE;
    cc_lg_hist_add(&c->post, e->answered_at - e->post_at);
    if (cc_lg_ep_finish(g, e) != 0) {
        c->fail_http++;
        note_error(c, i, "POST", e->error);
        return;
    }
    cc_lg_ep_service(e, now, 0); /* first ICE checks now */
}

static void take_done(lg *g, cc_time_us now, int last)
{
    struct lg_churn *c = g->churn;
    pthread_mutex_lock(&c->mu);
    int n = c->n_done;
    memcpy(c->done_copy, c->done, (size_t)n * sizeof *c->done);
    c->n_done = 0;
    pthread_mutex_unlock(&c->mu);
    for (int k = 0; k < n; k++)
        job_done(g, c->done_copy[k], now, last);
}

int cc_lg_churn_start(lg *g)
{
    const cc_loadgen_config *cfg = g->cfg;
    struct lg_churn *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    g->churn = c;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->cap = g->n_subs > 0 ? g->n_subs : 1;
    c->todo = calloc((size_t)c->cap, sizeof *c->todo);
    c->done = calloc((size_t)c->cap, sizeof *c->done);
    c->done_copy = calloc((size_t)c->cap, sizeof *c->done_copy);
    c->state = calloc((size_t)c->cap, 1);
    c->churned = calloc((size_t)c->cap, 1);
    c->lat.b = calloc(H_N, sizeof *c->lat.b);
    c->join.b = calloc(H_N, sizeof *c->join.b);
    c->post.b = calloc(H_N, sizeof *c->post.b);
    if (!c->todo || !c->done || !c->done_copy || !c->state || !c->churned || !c->lat.b ||
        !c->join.b || !c->post.b)
        return CC_ENOMEM;
    c->period = (cc_time_us)(CC_USEC_PER_SEC / cfg->churn_rate);
    for (int i = 0; i < CHURN_HTTP_THREADS; i++)
        if (pthread_create(&c->threads[c->n_threads], NULL, churn_thread, g) == 0)
            c->n_threads++;
    if (!c->n_threads)
        return CC_EIO;
    for (int i = 0; i < g->n_subs; i++)
        if (!g->subs[i].client)
            c->initial_failed++; /* no transport: its setup failed */
    return 0;
}

void cc_lg_churn_step(lg *g, cc_time_us now, int open)
{
    struct lg_churn *c = g->churn;
    cc_time_us t0 = cc_clock_mono_us(), cpu0 = cc_lg_thread_cpu_us();
    take_done(g, now, 0);
    if (open && g->n_subs > 0) {
        if (!c->next_at)
            c->next_at = now + c->period;
        if (now - c->next_at > CHURN_MAX_BEHIND) {
            c->behind += (uint64_t)((now - c->next_at) / c->period);
            c->next_at = now;
        }
        for (int k = 0; k < CHURN_MAX_PER_TURN && c->next_at <= now; k++) {
            c->next_at += c->period;
            int i = c->cursor;
            c->cursor = (i + 1) % g->n_subs;
            if (c->state[i] != SLOT_LIVE) {
                c->skipped++; /* its last leave or join is still running */
                continue;
            }
            leave(g, i, now);
        }
    }
    cc_time_us took = cc_clock_mono_us() - t0;
    if (took > c->step_max) {
        c->step_max = took;
        c->step_max_cpu = cc_lg_thread_cpu_us() - cpu0;
    }
}

int cc_lg_churn_idle(const lg *g) { return g->churn->outstanding == 0; }

void cc_lg_churn_stop(lg *g, cc_time_us now)
{
    struct lg_churn *c = g->churn;
    if (!c || !c->cap)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->n_threads; i++)
        pthread_join(c->threads[i], NULL);
    c->n_threads = 0;
    take_done(g, now, 1); /* the threads finished every queued job */
    for (int i = 0; i < g->n_subs; i++)
        if (c->state[i] == SLOT_LIVE)
            retire(g, i, now);
}

void cc_lg_churn_free(lg *g)
{
    struct lg_churn *c = g->churn;
    if (!c)
        return;
    if (c->n_threads) { /* a setup error: stop the threads, nothing queued */
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        for (int i = 0; i < c->n_threads; i++)
            pthread_join(c->threads[i], NULL);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->todo);
    free(c->done);
    free(c->done_copy);
    free(c->state);
    free(c->churned);
    free(c->lat.b);
    free(c->join.b);
    free(c->post.b);
    free(c);
    g->churn = NULL;
}

static double ms(double us) { return us / 1000; }

int cc_lg_churn_report(lg *g, double measured_s, double cpu_s, int setup_failed)
{
    const cc_loadgen_config *cfg = g->cfg;
    struct lg_churn *c = g->churn;
    uint64_t join_failed = c->fail_http + c->fail_prepare + c->fail_connect;
    const cc_sender_stats *ps = g->pub && g->pub->sender ? cc_sender_get_stats(g->pub->sender) : NULL;
    printf("classcast-loadgen: churn: %d subscribers live, %.1f leave+join a second for %.1f s "
           "(each lives ~%.1f s)\n",
           g->n_subs, cfg->churn_rate, measured_s, g->n_subs / cfg->churn_rate);
    printf("joins: %llu (%.2f/s), %llu connected, %llu failed (HTTP or answer %llu, socket %llu, "
           "not connected %llu); initial subscribers failed %llu\n",
           (unsigned long long)c->joins, measured_s > 0 ? (double)c->joins / measured_s : 0.0,
           (unsigned long long)c->joins_connected, (unsigned long long)join_failed,
           (unsigned long long)c->fail_http, (unsigned long long)c->fail_prepare,
           (unsigned long long)c->fail_connect, (unsigned long long)c->initial_failed);
    printf("leaves: %llu (%.2f/s, DELETE answered 2xx), %llu DELETE errors; transports that ended "
           "while live %llu; turns skipped (slot still busy) %llu, dropped behind schedule %llu\n",
           (unsigned long long)c->leaves, measured_s > 0 ? (double)c->leaves / measured_s : 0.0,
           (unsigned long long)c->leave_errors, (unsigned long long)c->dropped,
           (unsigned long long)c->skipped, (unsigned long long)c->behind);
    for (int k = 0; k < c->n_errors; k++)
        printf("  error: %s\n", c->errors[k]);
    printf("lives: %llu, %llu measured (connected >= %.0f s), %llu shorter; measured lives received "
           "%llu packets (video %llu, audio %llu), %.1f MB, lost %llu of %llu (%.4f%%), "
           "duplicates %llu, NACKed seqs %llu, SRTP auth failures %llu (and %llu before the keys); "
           "%llu without video or audio\n",
           (unsigned long long)c->lives, (unsigned long long)c->measured,
           (double)CHURN_MIN_LIFE / 1e6, (unsigned long long)c->short_lives,
           (unsigned long long)(c->pk[0] + c->pk[1]), (unsigned long long)c->pk[0],
           (unsigned long long)c->pk[1], (double)c->bytes / 1e6, (unsigned long long)c->lost,
           (unsigned long long)c->expected,
           c->expected ? 100.0 * (double)c->lost / (double)c->expected : 0.0,
           (unsigned long long)c->dups, (unsigned long long)c->nack_seqs,
           (unsigned long long)c->auth_fail, (unsigned long long)c->before_keys,
           (unsigned long long)c->empty);
    if (ps)
        printf("publisher: sent video %llu packets, audio %llu packets, NACKed seqs %llu, resent "
               "%llu, PLI %llu\n",
               (unsigned long long)ps->packets[0], (unsigned long long)ps->packets[1],
               (unsigned long long)ps->nack_received, (unsigned long long)ps->resent,
               (unsigned long long)ps->pli_received);
    if (c->join.n)
        printf("join (POST -> SRTP keys): p50 %.1f ms, p99 %.1f ms, max %.1f ms; POST answered: "
               "p50 %.1f ms, max %.1f ms; DELETE max %.1f ms\n",
               ms(cc_lg_hist_q(&c->join, 0.5)), ms(cc_lg_hist_q(&c->join, 0.99)),
               ms((double)c->join.max), ms(cc_lg_hist_q(&c->post, 0.5)), ms((double)c->post.max),
               ms((double)c->delete_max));
    if (c->lat.n)
        printf("latency (SRTP-verified lives, %llu samples): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               (unsigned long long)c->lat.n, ms(cc_lg_hist_q(&c->lat, 0.5)),
               ms(cc_lg_hist_q(&c->lat, 0.99)), ms((double)c->lat.max));
    /* Wall time and the loop thread's CPU time: on a busy machine a
     * stall can be mostly time spent waiting for a core. */
    printf("loop: longest stall %.1f ms (no socket read, %.1f ms of it on the CPU, %.1f s into the "
           "window); churn work per turn max %.1f ms (%.1f ms on the CPU); HTTP on %d threads, "
           "never on the loop\n",
           ms((double)g->loop_gap_max), ms((double)g->loop_gap_cpu),
           (double)g->loop_gap_at / 1e6, ms((double)c->step_max), ms((double)c->step_max_cpu),
           CHURN_HTTP_THREADS);
    printf("cpu: %.2f s (%.0f%% of one core over the window)\n", cpu_s,
           measured_s > 0 ? 100.0 * cpu_s / measured_s : 0.0);
    int fail = 0;
    if (cfg->check) {
        if (setup_failed || c->initial_failed || join_failed) {
            printf("CHECK FAILED: %llu join(s) failed, %llu initial subscriber(s) failed%s\n",
                   (unsigned long long)join_failed, (unsigned long long)c->initial_failed,
                   setup_failed ? " (or the publisher failed)" : "");
            fail = 1;
        }
        if (c->dropped) {
            printf("CHECK FAILED: %llu transport(s) ended while live\n",
                   (unsigned long long)c->dropped);
            fail = 1;
        }
        if (c->empty || !c->measured) {
            printf("CHECK FAILED: %llu measured life/lives received no video or no audio "
                   "(%llu measured)\n",
                   (unsigned long long)c->empty, (unsigned long long)c->measured);
            fail = 1;
        }
        if (!fail)
            printf("check passed: every join connected, every life of %.0f s or more received "
                   "video and audio, no transport ended early\n",
                   (double)CHURN_MIN_LIFE / 1e6);
    }
    json_t *o = json_pack(
        "{s:i,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
        "s:f,s:f,s:f,s:b}",
        "subscribers", g->n_subs, "churn_rate", cfg->churn_rate, "measured_s", measured_s,
        "joins", (json_int_t)c->joins, "joins_connected", (json_int_t)c->joins_connected,
        "join_failures", (json_int_t)join_failed, "join_failed_http", (json_int_t)c->fail_http,
        "join_failed_socket", (json_int_t)c->fail_prepare,
        "join_failed_connect", (json_int_t)c->fail_connect,
        "initial_failed", (json_int_t)c->initial_failed, "leaves", (json_int_t)c->leaves,
        "leave_errors", (json_int_t)c->leave_errors, "dropped", (json_int_t)c->dropped,
        "skipped", (json_int_t)c->skipped, "behind", (json_int_t)c->behind,
        "lives", (json_int_t)c->lives, "lives_measured", (json_int_t)c->measured,
        "lives_empty", (json_int_t)c->empty, "packets", (json_int_t)(c->pk[0] + c->pk[1]),
        "lost", (json_int_t)c->lost, "expected", (json_int_t)c->expected,
        "loop_stall_max_ms", ms((double)g->loop_gap_max),
        "join_p50_ms", c->join.n ? ms(cc_lg_hist_q(&c->join, 0.5)) : 0.0,
        "join_max_ms", ms((double)c->join.max), "check_passed", !fail);
    if (o && ps)
        json_object_set_new(o, "publisher_packets",
                            json_integer((json_int_t)(ps->packets[0] + ps->packets[1])));
    if (o && c->lat.n)
        json_object_set_new(o, "latency_p50_ms", json_real(ms(cc_lg_hist_q(&c->lat, 0.5))));
    if (o) {
        json_object_set_new(o, "loop_stall_cpu_ms", json_real(ms((double)g->loop_gap_cpu)));
        json_object_set_new(o, "join_p99_ms", json_real(ms(cc_lg_hist_q(&c->join, 0.99))));
        json_object_set_new(o, "auth_failures", json_integer((json_int_t)c->auth_fail));
        json_object_set_new(o, "media_before_keys", json_integer((json_int_t)c->before_keys));
        json_object_set_new(o, "loadgen_cpu_s", json_real(cpu_s));
    }
    if (o && cfg->json_path && json_dump_file(o, cfg->json_path, JSON_INDENT(2)) != 0)
        fprintf(stderr, "loadgen: cannot write %s\n", cfg->json_path);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line)
        printf("%s\n", line);
    fflush(stdout);
    free(line);
    json_decref(o);
    return fail;
}
