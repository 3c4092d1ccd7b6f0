"""SDP and ICE candidate checks before relay (docs/security.md, "SDP, ICE and the lobby's
test peer").

Valid descriptions come from real aiortc peers and from a Chromium offer; each rejection
is a minimal mutation of a valid one; hypothesis feeds arbitrary text and mutations to
show that nothing but ``SdpRejected`` ever escapes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.sdp import (
    MAX_CANDIDATES_IN_SDP,
    MAX_CANDIDATES_PER_CALL,
    MAX_MEDIA_SECTIONS,
    MAX_SDP_BYTES,
    CandidateBudget,
    SdpRejected,
    check_description,
)
from tests.support.loopback import loopback_host_addresses, loopback_ice  # noqa: F401

_FINGERPRINT = (
    "28:51:65:D0:39:50:A5:DE:C2:0B:D1:FA:37:3B:11:3F:"
    "8A:06:C9:28:1A:3D:44:E7:A1:CC:B3:39:71:66:7F:11"
)
_STREAM = "8a1c1d4e-6c1c-4b8f-9f7b-2b0f6b0b2c11"
_AUDIO_TRACK = "0c5e7c3a-54f1-4b6e-a1d2-3f9b8e7d6c5b"
_VIDEO_TRACK = "e2f4a6c8-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
_ICE = (
    "a=ice-ufrag:Xq3v\r\n"
    "a=ice-pwd:oLDR7oWHp2Dd8ICc3TKAKhpZ\r\n"
    "a=ice-options:trickle\r\n"
    f"a=fingerprint:sha-256 {_FINGERPRINT}\r\n"
    "a=setup:actpass\r\n"
)

# What Chromium's createOffer() gives for a camera, a microphone and one data channel
# when trickling: no candidates yet, port 9 and 0.0.0.0 placeholders.
CHROMIUM_OFFER = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    f"a=msid-semantic: WMS {_STREAM}\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    f"{_ICE}"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    f"a=msid:{_STREAM} {_AUDIO_TRACK}\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3573516190 cname:Qz5l9qQnK8Xo1m3B\r\n"
    f"a=ssrc:3573516190 msid:{_STREAM} {_AUDIO_TRACK}\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 104 105 45 46 116 117 118\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    f"{_ICE}"
    "a=mid:1\r\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:13 urn:3gpp:video-orientation\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"
    "a=sendrecv\r\n"
    f"a=msid:{_STREAM} {_VIDEO_TRACK}\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:98 VP9/90000\r\n"
    "a=rtcp-fb:98 goog-remb\r\n"
    "a=rtcp-fb:98 transport-cc\r\n"
    "a=rtcp-fb:98 ccm fir\r\n"
    "a=rtcp-fb:98 nack\r\n"
    "a=rtcp-fb:98 nack pli\r\n"
    "a=fmtp:98 profile-id=0\r\n"
    "a=rtpmap:99 rtx/90000\r\n"
    "a=fmtp:99 apt=98\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 goog-remb\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=rtcp-fb:102 ccm fir\r\n"
    "a=rtcp-fb:102 nack\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rtpmap:104 H264/90000\r\n"
    "a=rtcp-fb:104 goog-remb\r\n"
    "a=rtcp-fb:104 transport-cc\r\n"
    "a=rtcp-fb:104 ccm fir\r\n"
    "a=rtcp-fb:104 nack\r\n"
    "a=rtcp-fb:104 nack pli\r\n"
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:105 rtx/90000\r\n"
    "a=fmtp:105 apt=104\r\n"
    "a=rtpmap:45 AV1/90000\r\n"
    "a=rtcp-fb:45 goog-remb\r\n"
    "a=rtcp-fb:45 transport-cc\r\n"
    "a=rtcp-fb:45 ccm fir\r\n"
    "a=rtcp-fb:45 nack\r\n"
    "a=rtcp-fb:45 nack pli\r\n"
    "a=fmtp:45 level-idx=5;profile=0;tier=0\r\n"
    "a=rtpmap:46 rtx/90000\r\n"
    "a=fmtp:46 apt=45\r\n"
    "a=rtpmap:116 red/90000\r\n"
    "a=rtpmap:117 rtx/90000\r\n"
    "a=fmtp:117 apt=116\r\n"
    "a=rtpmap:118 ulpfec/90000\r\n"
    "a=ssrc-group:FID 2412339165 1303946419\r\n"
    "a=ssrc:2412339165 cname:Qz5l9qQnK8Xo1m3B\r\n"
    f"a=ssrc:2412339165 msid:{_STREAM} {_VIDEO_TRACK}\r\n"
    "a=ssrc:1303946419 cname:Qz5l9qQnK8Xo1m3B\r\n"
    f"a=ssrc:1303946419 msid:{_STREAM} {_VIDEO_TRACK}\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    f"{_ICE}"
    "a=mid:2\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n"
)

# Candidates as Chromium trickles them (documentation addresses, RFC 5737).
CHROMIUM_CANDIDATES = (
    "candidate:3046221519 1 udp 2122260223 192.0.2.23 54321 typ host generation 0 "
    "ufrag Xq3v network-id 1 network-cost 10",
    "candidate:1840965416 1 udp 2122260223 4b3c5e1d-2a7f-4c3e-9d1b-8f6e2a0c7d41.local "
    "58312 typ host generation 0 ufrag Xq3v network-id 1",
    "candidate:842163049 1 udp 1686052607 203.0.113.7 61234 typ srflx raddr 192.0.2.23 "
    "rport 54321 generation 0 ufrag Xq3v network-id 1 network-cost 10",
    "candidate:4233069003 1 tcp 1518280447 192.0.2.23 9 typ host tcptype active "
    "generation 0 ufrag Xq3v network-id 1",
    "candidate:1211076970 1 udp 41885439 198.51.100.20 50000 typ relay raddr 203.0.113.7 "
    "rport 61234 generation 0 ufrag Xq3v network-id 1",
    "candidate:0 1 UDP 2122252543 192.0.2.23 49835 typ host",  # Firefox's spelling
)


async def _offer_and_answer() -> tuple[str, str]:
    """An offer (audio, video, data channel) and its answer, from two aiortc peers."""
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        offerer.addTransceiver("audio")
        offerer.addTransceiver("video")
        offerer.createDataChannel("rtt")
        await offerer.setLocalDescription(await offerer.createOffer())
        offer: str = offerer.localDescription.sdp
        await answerer.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        answer: str = answerer.localDescription.sdp
        return offer, answer
    finally:
        await offerer.close()
        await answerer.close()


@pytest.fixture(scope="module")
def aiortc_offer() -> Iterator[str]:
    """An aiortc offer, made once per module for the hypothesis tests."""
    # Its own loop, not set as the current one, so pytest-asyncio's loops are untouched;
    # closing the runner cancels the connect task aiortc leaves behind after close().
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        with loopback_host_addresses():
            offer, _ = runner.run(_offer_and_answer())
    yield offer


def _rejected(sdp: str, sdp_type: str = "offer") -> str:
    with pytest.raises(SdpRejected) as info:
        check_description(sdp_type, sdp)
    return info.value.code


def _section(sdp: str, kind: str) -> str:
    """The lines of the first ``m=<kind>`` section, CRLF-terminated."""
    match = re.search(rf"^m={kind} .*?(?=^m=|\Z)", sdp, re.M | re.S)
    assert match is not None
    return match.group(0)


# --- valid descriptions ---------------------------------------------------------------


@pytest.mark.usefixtures("loopback_ice")
async def test_aiortc_offer_and_answer_pass() -> None:
    offer, answer = await _offer_and_answer()
    assert "a=candidate:" in offer and " 127.0.0.1 " in offer
    check_description("offer", offer)
    check_description("answer", answer)


def test_chromium_offer_passes() -> None:
    check_description("offer", CHROMIUM_OFFER)


@pytest.mark.usefixtures("loopback_ice")
async def test_aiortc_answer_to_chromium_offer_passes() -> None:
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        await answerer.setRemoteDescription(RTCSessionDescription(sdp=CHROMIUM_OFFER, type="offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        check_description("answer", answerer.localDescription.sdp)
    finally:
        await answerer.close()


def test_lf_line_endings_pass() -> None:
    check_description("offer", CHROMIUM_OFFER.replace("\r\n", "\n"))


def test_session_level_fingerprint_passes() -> None:
    # Firefox puts the fingerprint once, above the media sections.
    fingerprint = f"a=fingerprint:sha-256 {_FINGERPRINT}\r\n"
    sdp = CHROMIUM_OFFER.replace(fingerprint, "").replace("t=0 0\r\n", "t=0 0\r\n" + fingerprint)
    assert sdp.count("a=fingerprint:") == 1
    check_description("offer", sdp)


def test_rejected_section_without_fingerprint_passes() -> None:
    # An answer declining a section sets its port to 0; it carries no media.
    video = _section(CHROMIUM_OFFER, "video")
    declined = "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:3\r\na=inactive\r\n"
    check_description("answer", CHROMIUM_OFFER.replace(video, video + declined))


def test_all_sections_declined_without_fingerprint() -> None:
    sdp = re.sub(r"^a=fingerprint:.*\r\n", "", CHROMIUM_OFFER, flags=re.M)
    sdp = re.sub(r"^m=(\w+) 9 ", r"m=\1 0 ", sdp, flags=re.M)
    assert sdp.count(" 0 UDP/") == 3
    assert _rejected(sdp) == "sdp_no_fingerprint"


def test_legacy_dtls_sctp_profile_passes() -> None:
    application = _section(CHROMIUM_OFFER, "application")
    legacy = application.replace(
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 9 DTLS/SCTP 5000"
    ).replace("a=sctp-port:5000\r\n", "a=sctpmap:5000 webrtc-datachannel 1024\r\n")
    check_description("offer", CHROMIUM_OFFER.replace(application, legacy))


# --- one mutation, one rejection --------------------------------------------------------


@pytest.mark.parametrize("sdp_type", ["pranswer", "rollback", "OFFER", "", "offer "])
def test_wrong_type(sdp_type: str) -> None:
    assert _rejected(CHROMIUM_OFFER, sdp_type) == "sdp_bad_type"


def test_too_large() -> None:
    padding = "a=x-padding:" + "x" * MAX_SDP_BYTES + "\r\n"
    assert _rejected(CHROMIUM_OFFER + padding) == "sdp_too_large"


def test_too_large_counts_utf8_bytes() -> None:
    # Fewer characters than the limit, more bytes: the limit is on the wire size.
    room = MAX_SDP_BYTES - len(CHROMIUM_OFFER) - 20
    padding = "s=" + "é" * room + "\r\n"
    sdp = CHROMIUM_OFFER.replace("s=-\r\n", padding)
    assert len(sdp) <= MAX_SDP_BYTES < len(sdp.encode())
    assert _rejected(sdp) == "sdp_too_large"


def test_five_media_sections() -> None:
    video = _section(CHROMIUM_OFFER, "video")
    extra = [video.replace("a=mid:1\r\n", f"a=mid:{mid}\r\n") for mid in (3, 4)]
    sdp = CHROMIUM_OFFER + "".join(extra)
    assert sdp.count("\r\nm=") == MAX_MEDIA_SECTIONS + 1
    assert _rejected(sdp) == "sdp_too_many_sections"


def test_four_media_sections_pass() -> None:
    video = _section(CHROMIUM_OFFER, "video")
    check_description("offer", CHROMIUM_OFFER + video.replace("a=mid:1\r\n", "a=mid:3\r\n"))


def test_fingerprint_removed(aiortc_offer: str) -> None:
    for sdp in (CHROMIUM_OFFER, aiortc_offer):
        stripped = re.sub(r"^a=fingerprint:.*\r\n", "", sdp, flags=re.M)
        assert "fingerprint" not in stripped
        assert _rejected(stripped) == "sdp_no_fingerprint"


def test_fingerprint_missing_in_one_section() -> None:
    video = _section(CHROMIUM_OFFER, "video")
    stripped = video.replace(f"a=fingerprint:sha-256 {_FINGERPRINT}\r\n", "")
    assert _rejected(CHROMIUM_OFFER.replace(video, stripped)) == "sdp_no_fingerprint"


def test_sha1_fingerprint_only() -> None:
    sdp = CHROMIUM_OFFER.replace("a=fingerprint:sha-256 ", "a=fingerprint:sha-1 ")
    assert _rejected(sdp) == "sdp_no_fingerprint"


def test_setup_role_missing() -> None:
    # aiortc drops a section's DTLS parameters without a setup role.
    assert _rejected(CHROMIUM_OFFER.replace("a=setup:actpass\r\n", "")) == "sdp_no_fingerprint"


def test_crypto_added() -> None:
    crypto = (
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
    )
    sdp = CHROMIUM_OFFER.replace("a=mid:0\r\n", "a=mid:0\r\n" + crypto)
    assert _rejected(sdp) == "sdp_crypto"


@pytest.mark.parametrize("profile", ["RTP/AVP", "RTP/AVPF"])
def test_plain_rtp_profile(profile: str) -> None:
    sdp = CHROMIUM_OFFER.replace("m=video 9 UDP/TLS/RTP/SAVPF", f"m=video 9 {profile}")
    assert _rejected(sdp) == "sdp_plain_rtp"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("m=video 9 UDP/TLS/RTP/SAVPF", "m=video 9 RTP/SAVP"),
        ("m=application 9 UDP/DTLS/SCTP", "m=application 9 UDP/TLS/RTP/SAVPF"),
    ],
)
def test_other_profile(old: str, new: str) -> None:
    assert _rejected(CHROMIUM_OFFER.replace(old, new)) == "sdp_bad_profile"


def test_other_media_kind() -> None:
    sdp = CHROMIUM_OFFER.replace("m=application 9", "m=message 9")
    assert _rejected(sdp) == "sdp_bad_media"


def test_too_many_candidates_in_sdp(aiortc_offer: str) -> None:
    line = re.search(r"^a=candidate:.*\r\n", aiortc_offer, re.M)
    assert line is not None
    extra = line.group(0) * MAX_CANDIDATES_IN_SDP
    sdp = aiortc_offer.replace(line.group(0), line.group(0) + extra, 1)
    assert _rejected(sdp) == "sdp_too_many_candidates"


@pytest.mark.parametrize(
    "sdp",
    [
        "",
        "\r\n",
        "hello world",
        '{"type": "offer", "sdp": "v=0"}',
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",  # no media sections
        "v=1\r\n" + CHROMIUM_OFFER.removeprefix("v=0\r\n"),
        "\r\n" + CHROMIUM_OFFER,
        CHROMIUM_OFFER + "\r\n",  # a blank line
        CHROMIUM_OFFER + "not a line\r\n",
    ],
    ids=["empty", "crlf", "text", "json", "no-media", "v1", "leading-blank", "blank-line", "junk"],
)
def test_garbage(sdp: str) -> None:
    assert _rejected(sdp) == "sdp_invalid"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 9 UDP/TLS/RTP/SAVPF abc"),  # int()
        ("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 9 UDP/TLS/RTP/SAVPF 300"),  # assert
        ("m=audio 9 UDP", "m=audio nine UDP"),  # no regex match: assert
        ("a=setup:actpass", "a=setup:bogus"),  # dict lookup: KeyError
        ("a=fingerprint:sha-256 ", "a=fingerprint:sha-256"),  # unpacking: ValueError
        ("c=IN IP4 0.0.0.0", "c=IN IP9 0.0.0.0"),  # assert in ipaddress_from_sdp
        ("a=fmtp:111 ", "a=fmtp:112 "),  # codec not found: StopIteration
        ("a=sctp-port:5000", "a=sctp-port:"),  # int("")
        ("a=ssrc:3573516190 cname:", "a=ssrc:3573516190 cname"),  # unpacking
    ],
)
def test_parser_failures(old: str, new: str) -> None:
    assert old in CHROMIUM_OFFER
    assert _rejected(CHROMIUM_OFFER.replace(old, new, 1)) == "sdp_invalid"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b", "\x1b", "\x7f", "\x85", "\u2028"])
def test_control_characters(char: str) -> None:
    sdp = CHROMIUM_OFFER.replace("s=-", f"s=-{char}")
    assert _rejected(sdp) == "sdp_invalid"


def test_lone_surrogate() -> None:
    # A JSON decoder turns "\ud800" into a lone surrogate, which UTF-8 cannot encode.
    assert _rejected(CHROMIUM_OFFER.replace("s=-", "s=\ud800")) == "sdp_invalid"


def test_crypto_attribute_name_is_case_insensitive() -> None:
    assert _rejected(CHROMIUM_OFFER + "a=CRYPTO:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n") == (
        "sdp_crypto"
    )


def test_rejection_message_does_not_quote_input() -> None:
    secret_line = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:canary-key-material\r\n"
    with pytest.raises(SdpRejected) as info:
        check_description("offer", CHROMIUM_OFFER + secret_line)
    assert "canary" not in str(info.value)


# --- fuzzing ------------------------------------------------------------------------------

_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=2000)
_ATTRIBUTE_PREFIXES = (
    "m=audio ",
    "m=video ",
    "m=application ",
    "c=",
    "o=",
    "a=candidate:",
    "a=extmap:",
    "a=fingerprint:",
    "a=fmtp:",
    "a=max-message-size:",
    "a=rtcp:",
    "a=rtcp-fb:",
    "a=rtpmap:",
    "a=sctp-port:",
    "a=sctpmap:",
    "a=setup:",
    "a=ssrc:",
    "a=ssrc-group:",
    "a=group:",
    "a=msid-semantic:",
    "a=crypto:",
)
# Lines the parser treats specially, with arbitrary values: drives aiortc's parser deep.
_SDP_LIKE_LINE = st.one_of(
    st.builds(lambda p, v: p + v, st.sampled_from(_ATTRIBUTE_PREFIXES), st.text(max_size=40)),
    st.sampled_from(CHROMIUM_OFFER.splitlines()),
    st.text(max_size=40),
)
_FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check_never_raises_other(sdp_type: str, sdp: str) -> None:
    try:
        check_description(sdp_type, sdp)
    except SdpRejected as exc:
        assert exc.code.startswith("sdp_")


@_FUZZ
@given(sdp_type=st.sampled_from(["offer", "answer"]) | st.text(max_size=10), sdp=_ANY_TEXT)
def test_fuzz_arbitrary_text(sdp_type: str, sdp: str) -> None:
    _check_never_raises_other(sdp_type, sdp)


@_FUZZ
@given(lines=st.lists(_SDP_LIKE_LINE, max_size=40), newline=st.sampled_from(["\r\n", "\n"]))
def test_fuzz_sdp_like_lines(lines: list[str], newline: str) -> None:
    _check_never_raises_other("offer", newline.join(["v=0", *lines]) + newline)


@st.composite
def _mutated(draw: st.DrawFn, base: str) -> str:
    lines = base.split("\r\n")
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        operation = draw(st.sampled_from(["delete", "duplicate", "flip", "swap"]))
        index = draw(st.integers(min_value=0, max_value=max(0, len(lines) - 1)))
        if operation == "delete" and lines:
            del lines[index]
        elif operation == "duplicate" and lines:
            lines.insert(index, lines[index])
        elif operation == "swap" and len(lines) > 1:
            other = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif operation == "flip":
            raw = bytearray("\r\n".join(lines).encode("utf-8", "surrogateescape"))
            if raw:
                position = draw(st.integers(min_value=0, max_value=len(raw) - 1))
                raw[position] ^= draw(st.integers(min_value=1, max_value=255))
            # Invalid UTF-8 becomes lone surrogates, as a lax decoder would produce.
            lines = raw.decode("utf-8", "surrogateescape").split("\r\n")
    return "\r\n".join(lines)


@_FUZZ
@given(data=st.data())
def test_fuzz_mutations_of_valid_sdp(aiortc_offer: str, data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([CHROMIUM_OFFER, aiortc_offer]))
    _check_never_raises_other(
        data.draw(st.sampled_from(["offer", "answer"])), data.draw(_mutated(base))
    )


# --- trickled candidates ------------------------------------------------------------------


@pytest.mark.parametrize("candidate", CHROMIUM_CANDIDATES)
def test_browser_candidates_pass(candidate: str) -> None:
    CandidateBudget().check_candidate(candidate, "0", 0)


def test_end_of_candidates_passes() -> None:
    budget = CandidateBudget()
    budget.check_candidate("", "0", 0)
    budget.check_candidate("", None, None)
    assert budget.used == 2


@pytest.mark.parametrize(
    ("candidate", "mid", "index"),
    [
        (CHROMIUM_CANDIDATES[0] + " x" * 300, "0", 0),  # too long
        (CHROMIUM_CANDIDATES[0].removeprefix("candidate:"), "0", 0),  # no prefix
        ("a=" + CHROMIUM_CANDIDATES[0], "0", 0),
        ("candidate:", "0", 0),
        ("candidate:1 1 udp 2122260223 192.0.2.1 54321 typ", "0", 0),  # too short
        ("candidate:1 one udp 2122260223 192.0.2.1 54321 typ host", "0", 0),
        ("candidate:1 1 udp 2122260223 192.0.2.1 port typ host", "0", 0),
        ("candidate:1 1 udp 1 192.0.2.1 1 typ host rport x", "0", 0),
        (CHROMIUM_CANDIDATES[0] + "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x", "0", 0),
        (CHROMIUM_CANDIDATES[0] + "\x00", "0", 0),
        (CHROMIUM_CANDIDATES[0], "0", MAX_MEDIA_SECTIONS),
        (CHROMIUM_CANDIDATES[0], "0", -1),
        (CHROMIUM_CANDIDATES[0], "0", True),
        (CHROMIUM_CANDIDATES[0], "m" * 33, 0),
        (CHROMIUM_CANDIDATES[0], "0 1", 0),
        (CHROMIUM_CANDIDATES[0], "0\n", 0),
    ],
)
def test_invalid_candidates(candidate: str, mid: str | None, index: int | None) -> None:
    budget = CandidateBudget()
    with pytest.raises(SdpRejected) as info:
        budget.check_candidate(candidate, mid, index)
    assert info.value.code == "candidate_invalid"
    assert budget.used == 0


def test_candidate_budget() -> None:
    budget = CandidateBudget()
    for _ in range(MAX_CANDIDATES_PER_CALL):
        budget.check_candidate(CHROMIUM_CANDIDATES[0], "0", 0)
    with pytest.raises(SdpRejected) as info:
        budget.check_candidate(CHROMIUM_CANDIDATES[1], "0", 0)
    assert info.value.code == "too_many_candidates"
    with pytest.raises(SdpRejected):
        budget.check_candidate("", "0", 0)
    # Another call (or the other party) has its own budget.
    CandidateBudget().check_candidate(CHROMIUM_CANDIDATES[0], "0", 0)


def test_invalid_candidates_do_not_use_the_budget() -> None:
    budget = CandidateBudget(limit=1)
    with pytest.raises(SdpRejected):
        budget.check_candidate("candidate:garbage", "0", 0)
    budget.check_candidate(CHROMIUM_CANDIDATES[0], "0", 0)


@_FUZZ
@given(
    candidate=st.one_of(
        _ANY_TEXT,
        st.builds(lambda s: "candidate:" + s, st.text(max_size=200)),
        st.builds(
            lambda words: "candidate:" + " ".join(words),
            st.lists(st.sampled_from(["1", "udp", "typ", "host", "raddr", "rport", "x", "-1"])),
        ),
        st.sampled_from(CHROMIUM_CANDIDATES),
    ),
    mid=st.none() | st.text(max_size=40),
    index=st.none() | st.integers(),
)
def test_fuzz_candidates(candidate: str, mid: str | None, index: int | None) -> None:
    budget = CandidateBudget(limit=1)
    try:
        budget.check_candidate(candidate, mid, index)
    except SdpRejected as exc:
        assert exc.code == "candidate_invalid"
        assert budget.used == 0
    else:
        assert budget.used == 1
        assert len(candidate) <= 512 and "\n" not in candidate and "\r" not in candidate
