/* classcast-loadgen: the fan-out load generator (docs/loadgen.md), a
 * program of its own on the classcast library: the server binary holds only
 * the server. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/cli.h"
#include "classcast/whipc.h"
#include "classcast/loadgen.h"
#include "classcast/log.h"

#define PROG "classcast-loadgen"

static void usage_loadgen(FILE *f)
{
    fprintf(f,
            "usage: classcast-loadgen --whep URL [options]\n"
            "       classcast-loadgen --janus URL --room ID --video F --audio F [options]\n"
            "\n"
            "One process: an optional WHIP publisher sending a recorded VP8 + Opus\n"
            "RTP stream, and N WHEP subscribers, each a full WebRTC peer (ICE, DTLS,\n"
            "SRTP) that counts packets, losses, duplicates and latency and sends\n"
            "receiver reports and NACKs like a browser. Stops by itself.\n"
            "\n"
            "  --whep URL          WHEP endpoint (e.g. http://127.0.0.1:8080/whep/demo)\n"
            "  --ca-file PEM       trust this CA for https URLs (a classcast server's\n"
            "                      school CA: STATE_DIR/ca.crt)\n"
            "  --url BASE --lesson CODE\n"
            "                      classcast server: WHEP BASE/whep/CODE and WHIP\n"
            "                      BASE/whip/CODE (the publisher needs --video/--audio)\n"
            "  --janus URL         drive Janus's VideoRoom over its HTTP API instead\n"
            "                      (e.g. http://10.231.0.1:8088/janus): the publisher\n"
            "                      (--video/--audio) and N subscribers join --room\n"
            "  --room ID           the VideoRoom room (default 1234)\n"
            "  --token T           Bearer token for WHEP (viewer token)\n"
            "  --whip URL          also publish to this WHIP endpoint\n"
            "  --whip-token T      Bearer token for WHIP (default: --token)\n"
            "  --video FILE        recorded VP8 RTP, RFC 4571 framed\n"
            "                      (... ! rtpvp8pay ! rtpstreampay ! filesink)\n"
            "  --audio FILE        recorded Opus RTP, RFC 4571 framed\n"
            "  -n, --subscribers N subscribers (default 10)\n"
            "  --video-kbps K      the video file's bit rate (a check: warns when the\n"
            "                      publisher sent something else); --audio-kbps K too\n"
            "  --duration S        seconds to measure after setup (default 10)\n"
            "  --setup-timeout S   seconds allowed for all sessions to connect (15)\n"
            "  --settle S          seconds to wait after setup before measuring\n"
            "                      (default 0; lets setup's backlog drain)\n"
            "  --bind ADDR         local address for the sockets (127.0.0.1)\n"
            "  --sub-net NET/P     give subscriber i its own address NET+1+i and put\n"
            "                      them all on one socket (far cheaper to receive at\n"
            "                      N in the thousands); the addresses must be local\n"
            "                      (127.0.0.0/8 is; scripts/bench/netns.sh routes\n"
            "                      10.232.0.0/16)\n"
            "  --verify-sample K   SRTP-authenticate every packet of K subscribers;\n"
            "                      the rest are counted by RTP sequence only (default 1)\n"
            "  --json FILE         write the results as JSON\n"
            "  --check             exit 1 if a subscriber failed, got no video or\n"
            "                      audio, or lost any packet\n"
            "  --per-subscriber    one line per subscriber\n"
            "  --impair-loss PCT   drop PCT%% of received video on purpose (seeded),\n"
            "                      to exercise NACK repair\n"
            "  --churn RATE        during the window, RATE times a second the oldest\n"
            "                      subscriber leaves (WHEP DELETE) and a new one joins\n"
            "                      (new POST, new transport): RATE joins and RATE\n"
            "                      leaves a second, N live; not with --sub-net\n"
            "  --bell-at T         the class bell: the last --bell-joiners K subscribers\n"
            "                      join at T (Unix time, seconds, may have a fraction),\n"
            "                      their POSTs spread over --bell-spread S (default 0);\n"
            "                      the others watch from the start. Reports each\n"
            "                      joiner's time to its first complete keyframe and the\n"
            "                      watchers' latency before and during the bell (until\n"
            "                      S + --bell-watch W seconds after it, default 3)\n"
            "  --log-level LEVEL   error, warn (default), info, debug\n"
            "  -h, --help          this help\n");
}

int main(int argc, char **argv)
{
    cc_loadgen_config c = {.subscribers = 10, .duration_s = 10, .verify_sample = 1,
                           .bind = "127.0.0.1"};
    static const struct option opts[] = {
        {"whep", required_argument, 0, 'e'},
        {"ca-file", required_argument, 0, 'F'},
        {"janus", required_argument, 0, 'J'},
        {"room", required_argument, 0, 'r'},
        {"url", required_argument, 0, 'U'},
        {"lesson", required_argument, 0, 'C'},
        {"subscribers", required_argument, 0, 'n'},
        {"video-kbps", required_argument, 0, 'R'},
        {"audio-kbps", required_argument, 0, 'A'},
        {"token", required_argument, 0, 't'},
        {"whip", required_argument, 0, 'i'},
        {"whip-token", required_argument, 0, 'k'},
        {"video", required_argument, 0, 'v'},
        {"audio", required_argument, 0, 'a'},
        {"duration", required_argument, 0, 'D'},
        {"setup-timeout", required_argument, 0, 'S'},
        {"bind", required_argument, 0, 'b'},
        {"verify-sample", required_argument, 0, 'K'},
        {"sub-net", required_argument, 0, 'N'},
        {"settle", required_argument, 0, 'T'},
        {"json", required_argument, 0, 'j'},
        {"check", no_argument, 0, 'c'},
        {"per-subscriber", no_argument, 0, 'P'},
        {"impair-loss", required_argument, 0, 'L'},
        {"churn", required_argument, 0, 'X'},
        {"bell-at", required_argument, 0, 'B'},
        {"bell-joiners", required_argument, 0, 'Q'},
        {"bell-spread", required_argument, 0, 'W'},
        {"bell-watch", required_argument, 0, 'Y'},
        {"log-level", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    cc_log_set_level(CC_LOG_WARN);
    const char *base = NULL, *lesson = NULL;
    static char whep_buf[1024], whip_buf[1024];
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
        switch (o) {
        case 'e': c.whep_url = optarg; break;
        case 'F':
            if (cc_whipc_set_ca_file(optarg) != 0)
                return 1;
            break;
        case 'J': c.janus_url = optarg; break;
        case 'r': c.janus_room = atoll(optarg); break;
        case 'U': base = optarg; break;
        case 'C': lesson = optarg; break;
        case 'R': c.video_kbps = atof(optarg); break;
        case 'A': c.audio_kbps = atof(optarg); break;
        case 't': c.whep_token = optarg; break;
        case 'N': c.sub_net = optarg; break;
        case 'T': c.settle_s = atof(optarg); break;
        case 'i': c.whip_url = optarg; break;
        case 'k': c.whip_token = optarg; break;
        case 'v': c.video_file = optarg; break;
        case 'a': c.audio_file = optarg; break;
        case 'n': c.subscribers = atoi(optarg); break;
        case 'D': c.duration_s = atof(optarg); break;
        case 'S': c.setup_timeout_s = atof(optarg); break;
        case 'b': c.bind = optarg; break;
        case 'K': c.verify_sample = atoi(optarg); break;
        case 'j': c.json_path = optarg; break;
        case 'c': c.check = 1; break;
        case 'P': c.per_subscriber = 1; break;
        case 'L': c.impair_loss_pct = atof(optarg); break;
        case 'X': c.churn_rate = atof(optarg); break;
        case 'B': c.bell_at_unix = atof(optarg); break;
        case 'Q': c.bell_joiners = atoi(optarg); break;
        case 'W': c.bell_spread_s = atof(optarg); break;
        case 'Y': c.bell_watch_s = atof(optarg); break;
        case 'l':
            if (cc_cli_log_level(PROG, optarg) != 0)
                return 2;
            break;
        case 'h': usage_loadgen(stdout); return 0;
        default: usage_loadgen(stderr); return 2;
        }
    }
    if (base) {
        size_t bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
            bl--;
        const char *code = lesson ? lesson : "demo";
        snprintf(whep_buf, sizeof whep_buf, "%.*s/whep/%s", (int)bl, base, code);
        snprintf(whip_buf, sizeof whip_buf, "%.*s/whip/%s", (int)bl, base, code);
        if (!c.whep_url)
            c.whep_url = whep_buf;
        if (!c.whip_url && (c.video_file || c.audio_file))
            c.whip_url = whip_buf;
    }
    if (!c.whep_url && !c.janus_url) {
        usage_loadgen(stderr);
        return 2;
    }
    if (c.janus_url && c.janus_room <= 0)
        c.janus_room = 1234;
    if (!c.whip_token)
        c.whip_token = c.whep_token;
    signal(SIGPIPE, SIG_IGN); /* a server that goes away mid-request */
    return cc_loadgen_run(&c);
}

