/* `classcast-publish`: local sources -> WHIP. One video and one audio stream
 * at most (a WHIP session carries one of each, RFC 9725 section 4.2). */
#include "classcast/publish.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "classcast/client.h"
#include "classcast/demux.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"
#include "classcast/ring.h"
#include "classcast/sdp_offer.h"
#include "classcast/sender.h"
#include "classcast/slot.h"
#include "classcast/source.h"
#include "classcast/udp.h"
#include "classcast/whipc.h"

typedef struct pub_src {
    cc_source *src;
    cc_ring *ring;
    int efd;
    uint64_t ring_full;
} pub_src;

/* Source thread -> publish loop. */
static void pub_emit(void *ud, cc_pkt *p)
{
    pub_src *ps = ud;
    if (cc_ring_push(ps->ring, p) != 0) {
        ps->ring_full++;
        cc_pkt_unref(p);
        return;
    }
    uint64_t one = 1;
    ssize_t r = write(ps->efd, &one, sizeof one);
    (void)r;
}

/* cc_rtp_source over a source's ring: packets are due as soon as they are
 * encoded (the capture paces them). */
static int ring_next(void *ud, cc_time_us now, uint8_t *buf, size_t cap,
                     size_t *len, cc_time_us *next_due)
{
    pub_src *ps = ud;
    cc_pkt *p = cc_ring_pop(ps->ring);
    if (!p) {
        *next_due = now + 5 * CC_USEC_PER_MSEC;
        return CC_EAGAIN;
    }
    int rc = 0;
    if (p->len > cap)
        rc = CC_ENOSPC;
    else {
        memcpy(buf, p->data, p->len);
        *len = p->len;
    }
    cc_pkt_unref(p);
    return rc;
}

static void ring_keyframe(void *ud) { cc_source_request_keyframe(((pub_src *)ud)->src); }

int cc_publish_run(const cc_publish_config *cfg)
{
    int rc = 0;
    pub_src ps[2] = {{.efd = -1}, {.efd = -1}}; /* [0] video, [1] audio */
    cc_pkt_pool *pool = NULL;
    cc_dtls_ctx *dtls = NULL;
    cc_udp *udp = NULL;
    cc_client *client = NULL;
    cc_sender *sender = NULL;
    cc_sdp_answer_info *ai = NULL;
    char location[CC_WHIPC_URL_MAX] = "";
    char *offer = NULL;

    cc_whipc_global_init();
    if ((rc = cc_srtp_global_init()) != 0 || (rc = cc_dtls_ctx_new(&dtls)) != 0 ||
        (rc = cc_pkt_pool_new(&pool, 2048)) != 0) {
        fprintf(stderr, "classcast-publish: cannot initialise crypto or memory\n");
        goto out;
    }
    /* Sources. */
    char list[512];
    snprintf(list, sizeof list, "%s", cfg->sources ? cfg->sources : "");
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int slot = cc_source_default_slot(tok);
        int k = slot == CC_SLOT_MIC ? 1 : 0;
        if (ps[k].src) {
            fprintf(stderr, "classcast-publish: one video and one audio source per WHIP session ('%s' is one too many)\n", tok);
            rc = CC_EINVAL;
            goto out;
        }
        char err[1024] = "", dispvar[300];
        cc_source_config sc = {
            .pipelines_dir = cfg->pipelines_dir,
            .name = tok,
            .slot = slot,
            .width = cfg->width,
            .height = cfg->height,
            .fps = cfg->fps,
            .bitrate_kbps = k == 0 ? cfg->video_kbps : 0,
            .pool = pool,
            .emit = pub_emit,
            .ud = &ps[k],
        };
        if (cfg->display) {
            snprintf(dispvar, sizeof dispvar, "DISPLAY=%s", cfg->display);
            sc.vars[0] = dispvar;
        }
        if ((rc = cc_ring_new(&ps[k].ring, 1024)) != 0)
            goto out;
        ps[k].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if ((rc = cc_source_new(&ps[k].src, &sc, err, sizeof err)) != 0) {
            fprintf(stderr, "classcast-publish: source '%s': %s\n", tok, err);
            goto out;
        }
    }
    if (!ps[0].src && !ps[1].src) {
        fprintf(stderr, "classcast-publish: name at least one --source\n");
        rc = CC_EINVAL;
        goto out;
    }
    /* Socket, offer, POST, answer. */
    cc_addr bind;
    if (cc_addr_from_string(&bind, cfg->bind ? cfg->bind : "0.0.0.0", 0) != 0) {
        fprintf(stderr, "classcast-publish: --bind is not an IP address\n");
        rc = CC_EINVAL;
        goto out;
    }
    if ((rc = cc_udp_open(&udp, &bind)) != 0) {
        fprintf(stderr, "classcast-publish: cannot open a UDP socket\n");
        goto out;
    }
    char ufrag[CC_ICE_UFRAG_LEN + 1], pwd[CC_ICE_PWD_LEN + 1], cname[17];
    cc_ice_make_credentials(ufrag, pwd);
    cc_rand_token(cname, 16);
    uint32_t vssrc = cc_rand_u32() | 1, assrc = cc_rand_u32() | 2;
    cc_sdp_offer_params op = {
        .ice_ufrag = ufrag, .ice_pwd = pwd,
        .fingerprint = cc_dtls_ctx_fingerprint(dtls),
        .send = 1, .video = ps[0].src != NULL, .audio = ps[1].src != NULL,
        .video_ssrc = vssrc, .audio_ssrc = assrc,
        .cname = cname, .stream_id = "classcast-publish",
    };
    if ((rc = cc_sdp_offer_write(&op, &offer)) != 0) {
        fprintf(stderr, "classcast-publish: could not write the offer\n");
        goto out;
    }
    cc_whipc_result res;
    rc = cc_whipc_post(cfg->whip_url, cfg->token, offer, 10000, &res);
    if (rc != 0) {
        fprintf(stderr, "classcast-publish: WHIP POST failed: %s\n", res.error);
        cc_whipc_result_clear(&res);
        goto out;
    }
    snprintf(location, sizeof location, "%s", res.location);
    ai = calloc(1, sizeof *ai);
    if (!ai || (rc = cc_sdp_answer_read(res.body, res.body_len, ai)) != 0) {
        fprintf(stderr, "classcast-publish: unusable answer: %s\n", ai ? ai->error : "out of memory");
        cc_whipc_result_clear(&res);
        rc = rc ? rc : CC_ENOMEM;
        goto out;
    }
    cc_whipc_result_clear(&res);
    cc_time_us now = cc_clock_mono_us();
    cc_client_config cc = {
        .dtls_ctx = dtls,
        .local_ufrag = ufrag, .local_pwd = pwd,
        .remote_ufrag = ai->ice_ufrag, .remote_pwd = ai->ice_pwd,
        .remote_fp_alg = ai->fp_alg, .remote_fp = ai->fp,
        .remote = ai->candidate,
        .dtls_server = strcmp(ai->setup, "active") == 0,
        .connect_timeout = 15 * CC_USEC_PER_SEC,
    };
    if ((rc = cc_client_new(&client, &cc, now)) != 0) {
        fprintf(stderr, "classcast-publish: bad answer credentials\n");
        goto out;
    }
    cc_sender_config sc = {.client = client, .cname = cname};
    for (int k = 0; k < 2; k++) {
        const cc_sdp_answer_media *m = k == 0 ? &ai->video : &ai->audio;
        if (!ps[k].src || !m->present)
            continue;
        sc.streams[k] = (cc_sender_stream_config){
            .enabled = 1, .ssrc = k == 0 ? vssrc : assrc, .pt = (uint8_t)m->pt,
            .clock_rate = k == 0 ? 90000 : 48000, .mid = m->mid,
            .ext_mid = m->ext_mid, .ext_abs_send_time = m->ext_abs_send_time,
            .src = {.ud = &ps[k], .next = ring_next, .keyframe = k == 0 ? ring_keyframe : NULL},
        };
    }
    if ((rc = cc_sender_new(&sender, &sc, now)) != 0) {
        fprintf(stderr, "classcast-publish: cannot start sending\n");
        goto out;
    }
    for (int k = 0; k < 2; k++)
        if (ps[k].src && (rc = cc_source_start(ps[k].src)) != 0) {
            cc_source_stats st;
            cc_source_get_stats(ps[k].src, &st);
            fprintf(stderr, "classcast-publish: source did not start: %s\n", st.capture.last_error);
            goto out;
        }
    fprintf(stderr, "classcast-publish: sending to %s (session %s)\n", cfg->whip_url, location);

    /* Run loop: socket, the sources' eventfds, the sender's deadline. */
    cc_time_us end = cfg->duration_s > 0 ? now + (cc_time_us)(cfg->duration_s * CC_USEC_PER_SEC)
                                         : CC_TIME_NEVER;
    int was_connected = 0;
    while (!(cfg->stop && *cfg->stop)) {
        now = cc_clock_mono_us();
        if (now >= end)
            break;
        cc_client_state cs = cc_client_get_state(client);
        if (cs == CC_CLIENT_CONNECTED && !was_connected) {
            was_connected = 1;
            fprintf(stderr, "classcast-publish: connected (%s)\n",
                    cc_srtp_profile_name(cc_client_srtp_profile(client)));
        }
        if (cs == CC_CLIENT_FAILED || cs == CC_CLIENT_CLOSED) {
            fprintf(stderr, "classcast-publish: transport %s: %s\n", cc_client_state_name(cs),
                    cc_client_error(client));
            rc = CC_ECLOSED;
            break;
        }
        if (cc_sender_deadline(sender, now) <= now)
            cc_sender_handle_timeout(sender, now);
        size_t len;
        cc_addr to;
        for (int i = 0; i < 256; i++) {
            uint8_t *slot = cc_udp_tx_slot(udp);
            if (cc_sender_poll(sender, now, slot, CC_UDP_TX_BUF, &len, &to) != 0)
                break;
            cc_udp_tx_commit(udp, len, &to);
        }
        cc_udp_flush(udp);
        cc_time_us dl = cc_sender_deadline(sender, now);
        int timeout_ms = dl == CC_TIME_NEVER ? 100 : (int)((dl - now) / 1000);
        if (timeout_ms < 0)
            timeout_ms = 0;
        if (timeout_ms > 100)
            timeout_ms = 100;
        struct pollfd pfd[3] = {{.fd = cc_udp_fd(udp), .events = POLLIN},
                                {.fd = ps[0].efd, .events = POLLIN},
                                {.fd = ps[1].efd, .events = POLLIN}};
        poll(pfd, 3, timeout_ms);
        for (int k = 0; k < 2; k++)
            if (ps[k].efd >= 0 && (pfd[1 + k].revents & POLLIN)) {
                uint64_t v;
                ssize_t r = read(ps[k].efd, &v, sizeof v);
                (void)r;
            }
        if (pfd[0].revents & POLLIN) {
            cc_udp_dgram *d;
            int n = cc_udp_recv(udp, &d);
            now = cc_clock_mono_us();
            for (int i = 0; i < n; i++)
                if (!d[i].truncated)
                    cc_sender_handle(sender, cc_demux_classify(d[i].data, d[i].len),
                                     d[i].data, d[i].len, &d[i].from, now);
        }
    }
    if (rc == 0) {
        const cc_sender_stats *st = cc_sender_get_stats(sender);
        fprintf(stderr, "classcast-publish: sent %llu video and %llu audio packets, "
                        "%llu NACKed packets resent, %llu keyframe requests\n",
                (unsigned long long)st->packets[CC_SENDER_VIDEO],
                (unsigned long long)st->packets[CC_SENDER_AUDIO],
                (unsigned long long)st->resent, (unsigned long long)st->pli_received);
    }
out:
    for (int k = 0; k < 2; k++)
        cc_source_stop(ps[k].src);
    if (location[0])
        cc_whipc_delete(location, cfg->token, 2000);
    cc_sender_free(sender);
    cc_client_free(client);
    cc_udp_close(udp);
    for (int k = 0; k < 2; k++) {
        cc_source_free(ps[k].src);
        cc_pkt *p;
        while (ps[k].ring && (p = cc_ring_pop(ps[k].ring)))
            cc_pkt_unref(p);
        cc_ring_free(ps[k].ring);
        if (ps[k].efd >= 0)
            close(ps[k].efd);
    }
    free(ai);
    free(offer);
    cc_pkt_pool_free(pool);
    cc_dtls_ctx_free(dtls);
    cc_whipc_global_cleanup();
    return rc;
}
