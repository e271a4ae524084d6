/* classcast control plane: the types and functions shared by the files of
 * the control plane (control.c, control_api.c, control_capture.c,
 * control_requests.c, control_seminar.c). Internal: not installed, not part
 * of the API. */
#ifndef CLASSCAST_CONTROL_PRIV_H
#define CLASSCAST_CONTROL_PRIV_H

#include "classcast/control.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "classcast/accounts.h"
#include "classcast/capture.h"
#include "classcast/clock.h"
#include "classcast/dataplane.h"
#include "classcast/devices.h"
#include "classcast/err.h"
#include "classcast/history.h"
#include "classcast/lesson.h"
#include "classcast/localpub.h"
#include "classcast/log.h"
#include "classcast/metrics.h"
#include "classcast/persist.h"
#include "classcast/proto.h"
#include "classcast/qr.h"
#include "classcast/rand.h"
#include "classcast/ratelimit.h"
#include "classcast/recording.h"
#include "classcast/whip.h"
#include "classcast/sfu.h"
#include "classcast/source.h"

/* A WebSocket session as the control plane sees it. The member it stands
 * for is found through the lesson registry (cc_member.session == sid). */
typedef struct sess {
    uint64_t sid;
    int from_loopback;
    char addr_key[64];                /* cc_ratelimit_key_of_ip of its peer */
    char pub_ufrag[CC_ICE_MAX_CRED];  /* current publish transport, "" none */
    char pub_pwd[CC_ICE_MAX_CRED];    /* its local ICE password */
    char pub_remote[CC_ICE_MAX_CRED]; /* the browser's ufrag on it */
    char sub_ufrag[CC_ICE_MAX_CRED];  /* current subscribe transport */
    char sub_pwd[CC_ICE_MAX_CRED];
    char sub_remote[CC_ICE_MAX_CRED];
    /* Its streams as last answered (kept SSRCs on an in-place update). */
    cc_sfu_out_info sub_outs[CC_SDP_MAX_MEDIA];
    int n_sub_outs;
    unsigned pub_kinds;               /* what its publish transport sends */
    /* Chat: a token bucket (CHAT_BURST, CHAT_PER_S). */
    double chat_tokens;
    cc_time_us chat_at;
    /* `quality` reports: another (QUALITY_BURST, QUALITY_PER_S). */
    double quality_tokens;
    cc_time_us quality_at;
    /* The session token of the handshake's cookie ("" none): who is
     * signed in is looked up again when it matters (create, capture), so
     * a sign-out or a disabled account counts at once. */
    char token[CC_STORE_TOKEN_CAP];
} sess;

/* A WHIP or WHEP session (no WebSocket behind it). */
typedef struct resource {
    /* The URL's last segment: letters and digits only. ICE ufrags may hold
     * '+' and '/' (RFC 8839 ice-char), which do not survive a URL path. */
    char id[24];
    char ufrag[CC_ICE_MAX_CRED];
    char code[CC_PROTO_CODE_CAP];
    uint32_t room_id;
    int publisher;
} resource;

struct cc_control {
    cc_control_config cfg;
    cc_http *http;
    cc_echo_params echo;
    cc_sfu_params sfu;
    cc_sfu_params sfu_room;   /* sfu with the candidates' port of a room's worker */
    cc_lessons *lessons;
    /* Wrong lesson codes and tokens per address (/ws join and resume,
     * WHIP/WHEP): enumerating 6-digit codes must not be practical. */
    cc_ratelimit *bad_tries;
    uint64_t wrong_tries, tries_refused; /* /stats "control" */
    /* Who may create lessons and capture (accounts.h), and what they were
     * refused: /stats "control" too. */
    cc_accounts *accounts;
    uint64_t not_signed_in, must_change_refused, too_many_lessons;
    /* Refused because a lesson or the server is full (server_busy / 503). */
    uint64_t lesson_full, peers_full;
    /* `quality` reports refused for coming too fast. */
    uint64_t quality_too_fast;
    /* Lessons in the database (persist.h): what outlives a restart. */
    cc_persist *persist;
    cc_recordings *rec;     /* lesson recordings (recording.h) */
    GHashTable *sessions;   /* sid -> sess* */
    GHashTable *resources;  /* resource id -> resource* */
    GHashTable *captures;   /* room_id -> capture_run* (at most one a lesson) */
    int shut;               /* cc_control_shutdown ran: no new capture */
};

/* What one file defines and the others call, by file (each is described
 * where it is defined). */

/* control.c */
cc_time_us ctl_now_us(void);
int64_t ctl_now_wall_s(void);
cc_worker *ctl_room_w(cc_control *c, uint32_t room_id);
void ctl_room_closed(cc_control *c, uint32_t room_id);
void ctl_remove_peer(cc_control *c, const char *ufrag);
uint32_t ctl_peer_count(cc_control *c);
void ctl_send_json(cc_control *c, uint64_t sid, char *json);
void ctl_send_error(cc_control *c, uint64_t sid, const char *code,
                    const char *message, const char *ref, const char *id);
void ctl_count_wrong_try(cc_control *c, const char *key, cc_time_us now);
int ctl_refuse_if_too_many(cc_control *c, sess *s, cc_time_us now, const char *ref,
                           const char *id);
void ctl_broadcast(cc_control *c, cc_lesson *l, const char *json, int teachers_only);
void ctl_broadcast_members(cc_control *c, cc_lesson *l);
void ctl_broadcast_lesson(cc_control *c, cc_lesson *l);
void ctl_send_state(cc_control *c, uint64_t sid, cc_lesson *l);
void ctl_close_transport(cc_control *c, char *ufrag);
int ctl_open_transport(cc_control *c, cc_lesson *l, uint32_t member_id,
                       int publisher, const char *sdp,
                       const cc_proto_track *tracks, int n_tracks,
                       uint32_t owner, int is_teacher, sess *s,
                       char **answer, char *ufrag_out, char *pwd_out,
                       char *remote_out, char *err, size_t errcap);
int ctl_same_ice_session(const char *sdp, const char *remote);
int ctl_update_transport(cc_control *c, sess *s, cc_lesson *l, uint32_t member_id,
                         int publisher, const cc_proto_track *tracks, int n_tracks,
                         const char *sdp, uint32_t owner, int is_teacher, char **answer,
                         char *err, size_t errcap);

/* control_api.c */
int ctl_server_full(cc_control *c);
int ctl_hook_is_api(void *ud, const char *method, const char *path);
void ctl_hook_api(void *ud, const cc_http_request *rq, cc_http_response *r);

/* control_capture.c */
void ctl_capture_run_free(void *p);
int ctl_capture_stop_room(cc_control *c, uint32_t room_id);
int ctl_capture_replace(cc_control *c, uint32_t room_id, const char *sources,
                        const char *display, char *err, size_t errcap);
void ctl_handle_capture(cc_control *c, sess *s, cc_lesson *l, cc_proto_req *rq);

/* control_requests.c */
void ctl_member_left(cc_control *c, sess *s, cc_lesson *l, cc_member *m);
void ctl_on_joined(cc_control *c, uint64_t sid, cc_lesson *l, cc_member *m,
                   const char *id);
void ctl_kick(cc_control *c, cc_lesson *l, cc_member *t, char *json);
void ctl_handle_request(cc_control *c, sess *s, cc_proto_req *rq);

/* control_seminar.c */
uint32_t ctl_owner_of(const cc_member *m);
int ctl_stream_allowed(cc_lesson *l, const cc_member *v, uint32_t owner, int slot);
void ctl_broadcast_streams(cc_control *c, cc_lesson *l);
void ctl_send_invites(cc_control *c, cc_lesson *l);
void ctl_send_speakers(cc_control *c, cc_lesson *l, const uint32_t *ids, int n, int n_recent);
void ctl_handle_quality(cc_control *c, sess *s, cc_lesson *l, cc_member *m,
                        const cc_proto_req *rq, cc_time_us now);
void ctl_send_seminar_state(cc_control *c, uint64_t sid, cc_lesson *l, cc_member *m);
void ctl_handle_seminar(cc_control *c, sess *s, cc_lesson *l, cc_member *m,
                        cc_proto_req *rq, cc_time_us now);

#endif
