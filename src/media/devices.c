#include "classcast/devices.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gst/gst.h>

#include "classcast/err.h"

#define X11_SOCKET_DIR "/tmp/.X11-unix"

const char *cc_device_kind_name(cc_device_kind k)
{
    switch (k) {
    case CC_DEVICE_CAMERA: return "camera";
    case CC_DEVICE_MIC: return "microphone";
    case CC_DEVICE_SCREEN: return "screen";
    }
    return "device";
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (!cap) return;
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A device's id is what a .pipe variable takes. The providers name it
 * differently: V4L2 gives a device path in its properties, PulseAudio and
 * ALSA devices carry an "internal-name" GObject property, PipeWire a node. */
static void device_id(GstDevice *dev, const GstStructure *props, char *id,
                      size_t cap)
{
    static const char *keys[] = {"device.path", "api.v4l2.path",
                                 "object.serial", "node.name", "object.path"};
    for (size_t i = 0; props && i < G_N_ELEMENTS(keys); i++) {
        const gchar *v = gst_structure_get_string(props, keys[i]);
        if (v && *v) {
            copy_str(id, cap, v);
            return;
        }
        guint64 u64;
        if (gst_structure_get_uint64(props, keys[i], &u64)) {
            snprintf(id, cap, "%llu", (unsigned long long)u64);
            return;
        }
    }
    GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(dev),
                                                  "internal-name");
    if (ps && ps->value_type == G_TYPE_STRING) {
        gchar *v = NULL;
        g_object_get(dev, "internal-name", &v, NULL);
        if (v && *v) {
            copy_str(id, cap, v);
            g_free(v);
            return;
        }
        g_free(v);
    }
    gchar *dn = gst_device_get_display_name(dev);
    copy_str(id, cap, dn);
    g_free(dn);
}

static void add_device(cc_device *out, size_t cap, size_t *n,
                       const cc_device *d)
{
    if (*n < cap) out[*n] = *d;
    (*n)++;
}

static void list_gst(unsigned kinds, cc_device *out, size_t cap, size_t *n)
{
    GstDeviceMonitor *mon = gst_device_monitor_new();
    if (kinds & CC_DEVICE_CAMERA)
        gst_device_monitor_add_filter(mon, "Video/Source", NULL);
    if (kinds & CC_DEVICE_MIC)
        gst_device_monitor_add_filter(mon, "Audio/Source", NULL);
    /* Not started: get_devices probes each provider once, no bus thread. */
    GList *devs = gst_device_monitor_get_devices(mon);
    for (GList *l = devs; l; l = l->next) {
        GstDevice *dev = GST_DEVICE(l->data);
        cc_device d;
        memset(&d, 0, sizeof d);
        if (gst_device_has_classes(dev, "Video/Source"))
            d.kind = CC_DEVICE_CAMERA;
        else if (gst_device_has_classes(dev, "Audio/Source"))
            d.kind = CC_DEVICE_MIC;
        else
            continue;
        if (!(kinds & d.kind)) continue;
        GstStructure *props = gst_device_get_properties(dev);
        device_id(dev, props, d.id, sizeof d.id);
        gchar *dn = gst_device_get_display_name(dev);
        copy_str(d.name, sizeof d.name, dn);
        g_free(dn);
        const gchar *api = props ? gst_structure_get_string(props, "device.api")
                                 : NULL;
        copy_str(d.api, sizeof d.api, api ? api : "gst");
        if (props) gst_structure_free(props);
        add_device(out, cap, n, &d);
    }
    g_list_free_full(devs, gst_object_unref);
    gst_object_unref(mon);
}

/* An X display is listed when its socket accepts a connection: a socket
 * file left by a killed server does not. */
static int x_socket_alive(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        close(fd);
        return 0;
    }
    strcpy(sa.sun_path, path);
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void list_x(cc_device *out, size_t cap, size_t *n)
{
    DIR *dir = opendir(X11_SOCKET_DIR);
    if (!dir) return;
    int nums[64];
    size_t k = 0;
    struct dirent *de;
    while ((de = readdir(dir)) && k < G_N_ELEMENTS(nums)) {
        if (de->d_name[0] != 'X') continue;
        char *end;
        long v = strtol(de->d_name + 1, &end, 10);
        if (end == de->d_name + 1 || *end || v < 0 || v > 65535) continue;
        char path[sizeof(X11_SOCKET_DIR) + 16];
        snprintf(path, sizeof path, "%s/X%ld", X11_SOCKET_DIR, v);
        if (x_socket_alive(path)) nums[k++] = (int)v;
    }
    closedir(dir);
    qsort(nums, k, sizeof nums[0], cmp_int);
    for (size_t i = 0; i < k; i++) {
        cc_device d;
        memset(&d, 0, sizeof d);
        d.kind = CC_DEVICE_SCREEN;
        snprintf(d.id, sizeof d.id, ":%d", nums[i]);
        snprintf(d.name, sizeof d.name, "X display :%d", nums[i]);
        copy_str(d.api, sizeof d.api, "x11");
        add_device(out, cap, n, &d);
    }
}

int cc_devices_list(unsigned kinds, cc_device *out, size_t cap, size_t *count)
{
    if (!count || (cap && !out) || !(kinds & CC_DEVICE_ALL)) return CC_EINVAL;
    if (!gst_is_initialized() && !gst_init_check(NULL, NULL, NULL))
        return CC_EUNSUPPORTED;
    size_t n = 0;
    if (kinds & (CC_DEVICE_CAMERA | CC_DEVICE_MIC)) list_gst(kinds, out, cap, &n);
    if (kinds & CC_DEVICE_SCREEN) list_x(out, cap, &n);
    *count = n;
    return 0;
}

static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    *len += (size_t)w;
    if (*len >= cap) *len = cap - 1;
}

int cc_devices_describe(unsigned kinds, char *buf, size_t cap)
{
    if (!buf || !cap || !(kinds & CC_DEVICE_ALL)) return CC_EINVAL;
    buf[0] = 0;
    enum { MAXDEV = 32 };
    cc_device *devs = calloc(MAXDEV, sizeof *devs);
    if (!devs) return CC_ENOMEM;
    size_t n = 0;
    int r = cc_devices_list(kinds, devs, MAXDEV, &n);
    if (r) {
        free(devs);
        return r;
    }
    if (n > MAXDEV) n = MAXDEV;
    static const struct {
        cc_device_kind kind;
        const char *plural;
        const char *none;
    } groups[] = {
        {CC_DEVICE_CAMERA, "cameras", "none found (no V4L2 or PipeWire video source)"},
        {CC_DEVICE_MIC, "microphones", "none found (no PulseAudio/PipeWire server or ALSA capture device)"},
        {CC_DEVICE_SCREEN, "screens", "none found (no X display running)"},
    };
    size_t len = 0;
    for (size_t g = 0; g < G_N_ELEMENTS(groups); g++) {
        if (!(kinds & groups[g].kind)) continue;
        appendf(buf, cap, &len, "%s%s: ", len ? "; " : "", groups[g].plural);
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            if (devs[i].kind != groups[g].kind) continue;
            if (strcmp(devs[i].id, devs[i].name) == 0)
                appendf(buf, cap, &len, "%s%s (%s)", any ? ", " : "",
                        devs[i].id, devs[i].api);
            else
                appendf(buf, cap, &len, "%s%s \"%s\" (%s)", any ? ", " : "",
                        devs[i].id, devs[i].name, devs[i].api);
            any = 1;
        }
        if (!any) appendf(buf, cap, &len, "%s", groups[g].none);
    }
    free(devs);
    return 0;
}
