/* classcast-publish: the media core as a WHIP client (src/tools/publish.c),
 * a program of its own on the classcast library: the server binary holds
 * only the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/cli.h"
#include "classcast/whipc.h"
#include "classcast/publish.h"

#define PROG "classcast-publish"

static volatile int g_stop;

static void usage_publish(FILE *f)
{
    fprintf(f,
            "usage: classcast-publish --whip URL [options]\n"
            "\n"
            "Captures local media (GStreamer pipelines), encodes it with libvpx and\n"
            "libopus, and sends it to a WHIP endpoint (classcast, or any other).\n"
            "\n"
            "  --whip URL          WHIP endpoint, e.g. http://127.0.0.1:8080/whip/482913\n"
            "  --token TOKEN       bearer token (a classcast lesson's teacher token)\n"
            "  --ca-file PEM       trust this CA for an https URL (a classcast server's\n"
            "                      school CA: STATE_DIR/ca.crt)\n"
            "  --source LIST       at most one video and one audio pipeline, e.g.\n"
            "                      test-video,test-audio or screen,mic (default)\n"
            "  --pipelines DIR     capture pipeline files (default ./pipelines)\n"
            "  --display DISPLAY   X display for screen capture (default $DISPLAY)\n"
            "  --video-size WxH    video size (default 1280x720)\n"
            "  --video-kbps N      video bitrate (default 1500 screen, 1000 camera; with\n"
            "                      simulcast the total, shared 60/28/12 %%)\n"
            "  --simulcast N       send a camera as N encodings (1..3: full, half and\n"
            "                      quarter size, RFC 8853 rids f, h, q); default 3 for a\n"
            "                      camera of at least 640x360 whose sizes halve to even\n"
            "                      numbers, else 1; the screen is always 1, and so is\n"
            "                      any camera if the server's answer takes no simulcast\n"
            "  --duration S        stop after S seconds (default: run until Ctrl-C)\n"
            "  --bind ADDR         local UDP address (default 0.0.0.0)\n"
            "  --log-level LEVEL   error, warn, info (default) or debug\n");
}

int main(int argc, char **argv)
{
    cc_publish_config c = {.sources = "screen,mic", .pipelines_dir = "pipelines",
                           .display = getenv("DISPLAY"), .width = 1280, .height = 720,
                           .fps = 30, .stop = &g_stop};
    static const struct option opts[] = {
        {"whip", required_argument, 0, 'w'},
        {"ca-file", required_argument, 0, 'F'},
        {"token", required_argument, 0, 't'},
        {"source", required_argument, 0, 's'},
        {"pipelines", required_argument, 0, 'P'},
        {"display", required_argument, 0, 'X'},
        {"video-size", required_argument, 0, 'V'},
        {"video-kbps", required_argument, 0, 'k'},
        {"simulcast", required_argument, 0, 'S'},
        {"duration", required_argument, 0, 'D'},
        {"bind", required_argument, 0, 'b'},
        {"log-level", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'w': c.whip_url = optarg; break;
        case 'F':
            if (cc_whipc_set_ca_file(optarg) != 0)
                return 1;
            break;
        case 't': c.token = optarg; break;
        case 's': c.sources = optarg; break;
        case 'P': c.pipelines_dir = optarg; break;
        case 'X': c.display = optarg; break;
        case 'V':
            if (cc_cli_video_size(PROG, optarg, &c.width, &c.height) != 0)
                return 2;
            break;
        case 'k': c.video_kbps = atoi(optarg); break;
        case 'S': {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!end || *end || n < 1 || n > 3) {
                fprintf(stderr, PROG ": --simulcast takes 1, 2 or 3\n");
                return 2;
            }
            c.simulcast = (int)n;
            break;
        }
        case 'D': c.duration_s = atof(optarg); break;
        case 'b': c.bind = optarg; break;
        case 'l':
            if (cc_cli_log_level(PROG, optarg) != 0)
                return 2;
            break;
        case 'h': usage_publish(stdout); return 0;
        default: usage_publish(stderr); return 2;
        }
    }
    if (!c.whip_url) {
        usage_publish(stderr);
        return 2;
    }
    cc_cli_on_stop(&g_stop, NULL);
    return cc_publish_run(&c) == 0 ? 0 : 1;
}

