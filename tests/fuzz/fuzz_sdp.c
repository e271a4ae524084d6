/* libFuzzer target for src/rtc/sdp.c and sdp_answer.c: parse any bytes as an offer; when that
 * succeeds, choose, write the answer (with and without accept_simulcast)
 * and parse the answer back. An answer
 * classcast wrote that its own parser rejects is a bug: abort on it.
 * GstSDPMessage needs no gst_init() (plain GLib code). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cc_sdp_offer offer, answer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cc_sdp_parse((const char *)data, size, &offer) != 0)
        return 0;

    /* Which lines we send on, and the knobs, come from the input too so the
     * fuzzer reaches every direction and feedback combination. */
    uint8_t h = 0;
    for (size_t i = 0; i < size; i++)
        h = (uint8_t)(h * 31 + data[i]);
    cc_sdp_answer_params p;
    memset(&p, 0, sizeof p);
    p.ice_ufrag = "fUzZ";
    p.ice_pwd = "0123456789abcdefghij+/";
    p.fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    p.cname = "fuzzcname";
    cc_addr_from_string(&p.candidates[0], "192.0.2.1", 40000);
    cc_addr_from_string(&p.candidates[1], "2001:db8::1", 40001);
    p.n_candidates = h & 1 ? 2 : 1;
    p.want_rtx = (h >> 1) & 1;
    p.enable_twcc = (h >> 2) & 1;
    p.enable_remb = (h >> 3) & 1;
    for (int i = 0; i < CC_SDP_MAX_MEDIA; i++) {
        p.send[i] = ((h >> 4) + i) & 1;
        p.streams[i].ssrc = (uint32_t)(1000 + i);
        p.streams[i].rtx_ssrc = (h >> 5) & 1 ? (uint32_t)(2000 + i) : 0;
        snprintf(p.streams[i].stream_id, sizeof p.streams[i].stream_id, "s");
        snprintf(p.streams[i].track_id, sizeof p.streams[i].track_id, "t%d",
                 i);
    }

    /* Both with and without simulcast: without it the answer must carry
     * nothing of it (no a=simulcast or a=rid line; an echoed fmtp may hold
     * the text anywhere in its line). */
    for (int sim = 0; sim < 2; sim++) {
        p.accept_simulcast = sim;
        cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
        if (cc_sdp_choose(&offer, &p, ch) != 0)
            return 0;
        char *ans = NULL;
        int rc = cc_sdp_write_answer(&offer, &p, ch, &ans);
        if (rc != 0) {
            fprintf(stderr, "write_answer failed after choose: %d\n", rc);
            abort();
        }
        rc = cc_sdp_parse(ans, strlen(ans), &answer);
        if (rc != 0 || answer.n_media != offer.n_media || !answer.ice_lite) {
            fprintf(stderr, "own answer does not parse (%s):\n%s\n",
                    answer.error, ans);
            abort();
        }
        if (!sim &&
            (strstr(ans, "\na=simulcast:") || strstr(ans, "\na=rid:"))) {
            fprintf(stderr, "simulcast in an answer without it:\n%s\n", ans);
            abort();
        }
        for (int i = 0; i < offer.n_media; i++) {
            const cc_sdp_media *am = &answer.media[i];
            if (strcmp(am->mid, offer.media[i].mid) != 0 ||
                (ch[i].accepted &&
                 (am->n_codecs < 1 || am->codecs[0].pt != ch[i].pt ||
                  am->direction != ch[i].direction ||
                  cc_sdp_find_extmap(am, CC_EXT_URI_MID) != ch[i].ext_mid))) {
                fprintf(stderr, "answer line %d does not round-trip:\n%s\n",
                        i, ans);
                abort();
            }
            if (!ch[i].accepted)
                continue;
            /* Simulcast: the recv list and rids are the choice's. */
            int ok = am->n_sim_recv == ch[i].n_sim && am->n_sim == 0 &&
                     am->n_rids == ch[i].n_sim &&
                     cc_sdp_find_extmap(am, CC_EXT_URI_RID) ==
                         (ch[i].n_sim ? ch[i].ext_rid : 0) &&
                     (ch[i].n_sim == 0 || (ch[i].n_sim >= 2 && ch[i].ext_rid));
            for (int k = 0; ok && k < ch[i].n_sim; k++)
                ok = !strcmp(am->sim_recv[k], ch[i].sim[k]) &&
                     am->sim_recv_paused[k] == ch[i].sim_paused[k] &&
                     !strcmp(am->rids[k], ch[i].sim[k]) && am->rid_recv[k];
            if (!ok) {
                fprintf(stderr, "line %d's simulcast does not round-trip:"
                                "\n%s\n", i, ans);
                abort();
            }
        }
        free(ans);
    }
    return 0;
}

