/* RFC 7983 section 7 demultiplexing table, byte by byte. */
#include "cc_test.h"
#include "classcast/demux.h"

static void test_table(void)
{
    for (int b = 0; b < 256; b++) {
        uint8_t pkt[2] = {(uint8_t)b, 96};
        cc_demux_kind k = cc_demux_classify(pkt, sizeof pkt);
        cc_demux_kind want;
        if (b <= 3) want = CC_DEMUX_STUN;
        else if (b >= 16 && b <= 19) want = CC_DEMUX_ZRTP;
        else if (b >= 20 && b <= 63) want = CC_DEMUX_DTLS;
        else if (b >= 64 && b <= 79) want = CC_DEMUX_TURN;
        else if (b >= 128 && b <= 191) want = CC_DEMUX_RTP;
        else want = CC_DEMUX_UNKNOWN;
        if (k != want) fprintf(stderr, "first byte %d\n", b);
        CC_CHECK_EQ(k, want);
    }
}

static void test_rtp_rtcp(void)
{
    /* second byte: RTCP types 192..223 (RFC 5761 section 4), everything else
     * RTP, including PT 96..127 with and without the marker bit. */
    for (int b = 0; b < 256; b++) {
        uint8_t pkt[2] = {0x80, (uint8_t)b};
        cc_demux_kind want = (b >= 192 && b <= 223) ? CC_DEMUX_RTCP : CC_DEMUX_RTP;
        CC_CHECK_EQ(cc_demux_classify(pkt, 2), want);
    }
    uint8_t sr[2] = {0x80, 200}, rr[2] = {0x81, 201}, fb[2] = {0x8f, 206};
    CC_CHECK_EQ(cc_demux_classify(sr, 2), CC_DEMUX_RTCP);
    CC_CHECK_EQ(cc_demux_classify(rr, 2), CC_DEMUX_RTCP);
    CC_CHECK_EQ(cc_demux_classify(fb, 2), CC_DEMUX_RTCP);
    uint8_t vp8_marker[2] = {0x80, 0x80 | 96};
    CC_CHECK_EQ(cc_demux_classify(vp8_marker, 2), CC_DEMUX_RTP);
}

static void test_short(void)
{
    uint8_t one = 0x80;
    CC_CHECK_EQ(cc_demux_classify(&one, 0), CC_DEMUX_UNKNOWN);
    CC_CHECK_EQ(cc_demux_classify(&one, 1), CC_DEMUX_RTP);
    CC_CHECK(cc_demux_name(CC_DEMUX_DTLS)[0] == 'd');
}

int main(void)
{
    CC_RUN(test_table);
    CC_RUN(test_rtp_rtcp);
    CC_RUN(test_short);
    CC_TEST_DONE();
}
