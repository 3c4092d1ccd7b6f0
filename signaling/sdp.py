"""Checks on SDP offers/answers and trickled ICE candidates before they are relayed.

docs/security.md ("SDP, ICE and the lobby's test peer"): the server relays session
descriptions between a patient and an agent, so it refuses anything a browser would not
produce for a call: other message types, oversized descriptions, many media sections,
descriptions without a DTLS fingerprint, SDES keys (``a=crypto``), plain RTP, control
characters, and floods of ICE candidates. Parsing uses aiortc's own parser, which raises
assorted exceptions on malformed input (aiortc issues #114, #1092); every one of them
becomes :class:`SdpRejected`.

Nothing here logs the SDP or a candidate: both carry IP addresses.
"""

from __future__ import annotations

import logging
import re

from aioice import Candidate
from aiortc.sdp import MediaDescription, SessionDescription

__all__ = [
    "MAX_CANDIDATES_IN_SDP",
    "MAX_CANDIDATES_PER_CALL",
    "MAX_CANDIDATE_CHARS",
    "MAX_MEDIA_SECTIONS",
    "MAX_MID_CHARS",
    "MAX_SDP_BYTES",
    "CandidateBudget",
    "SdpRejected",
    "check_description",
]

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 32 * 1024
"""A browser's offer for audio, video and a data channel is 4–8 KiB; 32 KiB leaves room
for many codecs and candidates and still bounds the parser's work and the relay."""

MAX_MEDIA_SECTIONS = 4
"""Audio, video and a data channel, plus one spare: a second video section for screen
sharing, or the transient extra section while a device switch renegotiates."""

MAX_CANDIDATES_IN_SDP = 64
"""Candidates embedded in one description (aiortc and non-trickling clients put them
all there); a browser with a few interfaces and a TURN server produces well under 20."""

MAX_CANDIDATES_PER_CALL = 100
"""Trickled candidate messages one sender may relay during one call, including
end-of-candidates markers and the candidates of ICE restarts."""

MAX_CANDIDATE_CHARS = 512
MAX_MID_CHARS = 32

# Media kind -> the transport profiles WebRTC uses for it (RFC 8829/JSEP section 5.1.2
# for RTP, RFC 8841 for SCTP; "DTLS/SCTP" is what older browsers still send).
_PROFILES: dict[str, frozenset[str]] = {
    "audio": frozenset({"UDP/TLS/RTP/SAVPF"}),
    "video": frozenset({"UDP/TLS/RTP/SAVPF"}),
    "application": frozenset({"UDP/DTLS/SCTP", "DTLS/SCTP"}),
}
# Unencrypted RTP: media would flow in the clear if a peer accepted it.
_PLAIN_RTP_PROFILES = frozenset({"RTP/AVP", "RTP/AVPF"})

# RFC 8827 section 6.5: WebRTC endpoints use SHA-256 or stronger for fingerprints.
_FINGERPRINT_ALGORITHMS = frozenset({"sha-256", "sha-384", "sha-512"})

# C0 controls other than TAB, LF and CR; DEL and the C1 controls; the Unicode line and
# paragraph separators (str.splitlines, which aiortc uses, splits on \x0b, \x0c, \x1c-\x1e,
# \x85, \u2028 and \u2029, so they could smuggle extra lines past a line-based check);
# and lone surrogates, which a JSON decoder can produce and which cannot be UTF-8 encoded.
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

# RFC 8866 section 5: every line is <type>=<value> with a one-letter type.
_SDP_LINE = re.compile(r"[a-z]=")

# Candidates travel as ASCII (addresses, mDNS names, ICE ufrag); requiring printable
# ASCII also keeps CR/LF out, so a candidate cannot inject extra SDP lines.
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_MID = re.compile(r"[\x21-\x7e]*")


class SdpRejected(Exception):
    """A session description or candidate that must not be relayed.

    ``code`` is stable and safe to send to the client and to log; the message is plain
    English and never quotes the input.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_description(sdp_type: str, sdp: str) -> None:
    """Check one offer or answer before it is relayed; raise :class:`SdpRejected` if not.

    ``sdp_type`` must be ``"offer"`` or ``"answer"``. Rollback and pranswer are not
    relayed: perfect negotiation rolls back locally.
    """
    if sdp_type not in ("offer", "answer"):
        raise SdpRejected("sdp_bad_type", "only offers and answers are relayed")
    _check_text(sdp)
    session = _parse(sdp)
    if not session.media:
        raise SdpRejected("sdp_invalid", "the description has no media sections")
    if len(session.media) > MAX_MEDIA_SECTIONS:
        raise SdpRejected("sdp_too_many_sections", "the description has too many media sections")
    for media in session.media:
        _check_media(media)
    # Sections with port 0 skip the fingerprint check (see _check_media), but a call needs
    # one live transport, and that one must be authenticated.
    if all(media.port == 0 for media in session.media):
        raise SdpRejected("sdp_no_fingerprint", "the description has no active media section")


def _check_text(sdp: str) -> None:
    # One character is at least one UTF-8 byte: refuse huge input before scanning it.
    if len(sdp) > MAX_SDP_BYTES:
        raise SdpRejected("sdp_too_large", "the description is too large")
    if _FORBIDDEN_CHARS.search(sdp):
        raise SdpRejected("sdp_invalid", "the description contains control characters")
    if len(sdp.encode("utf-8")) > MAX_SDP_BYTES:
        raise SdpRejected("sdp_too_large", "the description is too large")
    lines = sdp.splitlines()
    # aiortc's parser skips lines it does not know, so plain text would "parse"; an SDP
    # body starts with the version line and has only type=value lines.
    if not lines or lines[0] != "v=0":
        raise SdpRejected("sdp_invalid", "the description does not start with v=0")
    candidates = 0
    for line in lines:
        if not _SDP_LINE.match(line):
            raise SdpRejected("sdp_invalid", "the description has a malformed line")
        # SDES-SRTP keys (RFC 4568): WebRTC forbids them (RFC 8827 section 6.5); relaying
        # them would let a party downgrade the call to keys the signaling server saw.
        if line.startswith("a=") and line[2:].split(":", 1)[0].lower() == "crypto":
            raise SdpRejected("sdp_crypto", "SDES keys (a=crypto) are not allowed")
        if line.startswith("a=candidate:"):
            candidates += 1
    if candidates > MAX_CANDIDATES_IN_SDP:
        raise SdpRejected("sdp_too_many_candidates", "the description has too many candidates")


def _parse(sdp: str) -> SessionDescription:
    try:
        return SessionDescription.parse(sdp)
    except Exception as exc:
        # aiortc validates with assert, int(), str.split unpacking and dict lookups, so a
        # malformed line can raise almost anything; the type is logged to help diagnose
        # a browser we do not parse, never the text.
        logger.debug("SDP parser raised %s", type(exc).__name__)
        raise SdpRejected("sdp_invalid", "the description could not be parsed") from None


def _check_media(media: MediaDescription) -> None:
    allowed = _PROFILES.get(media.kind)
    if allowed is None:
        raise SdpRejected("sdp_bad_media", "only audio, video and data channel sections")
    if media.profile in _PLAIN_RTP_PROFILES:
        raise SdpRejected("sdp_plain_rtp", "unencrypted RTP profiles are not allowed")
    if media.profile not in allowed:
        raise SdpRejected("sdp_bad_profile", "the media section has an unsupported profile")
    # A section with port 0 is declined, or bundle-only and carried on the transport of
    # the first bundled section (which is checked): browsers may leave DTLS attributes out.
    if media.port == 0:
        return
    # aiortc copies session-level fingerprints into every section and drops the DTLS
    # parameters of a section without a setup role, so this covers both placements.
    fingerprints = media.dtls.fingerprints if media.dtls is not None else []
    if not any(f.algorithm.lower() in _FINGERPRINT_ALGORITHMS for f in fingerprints):
        raise SdpRejected(
            "sdp_no_fingerprint",
            "every media section needs a DTLS fingerprint (SHA-256 or stronger) and setup role",
        )


class CandidateBudget:
    """Checks the trickled ICE candidates of one sender in one call and caps their number.

    Keep one instance per call and sender. Each accepted call of :meth:`check_candidate`
    (end-of-candidates markers included) counts toward :data:`MAX_CANDIDATES_PER_CALL`.
    """

    def __init__(self, limit: int = MAX_CANDIDATES_PER_CALL) -> None:
        self.limit = limit
        self.used = 0

    def check_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Validate one trickled candidate; raise :class:`SdpRejected` if it must be dropped.

        ``candidate`` is the browser's ``RTCIceCandidate.candidate``: ``"candidate:..."``,
        or the empty string for end-of-candidates.
        """
        _check_candidate_text(candidate)
        _check_candidate_target(sdp_mid, sdp_mline_index)
        # Counted only once valid, so a rejected message does not use up the budget of a
        # party whose client has a bug; the caller closes or throttles on rejections.
        if self.used >= self.limit:
            raise SdpRejected("too_many_candidates", "too many ICE candidates in this call")
        self.used += 1


def _check_candidate_text(candidate: str) -> None:
    if len(candidate) > MAX_CANDIDATE_CHARS:
        raise SdpRejected("candidate_invalid", "the candidate is too long")
    if not _PRINTABLE_ASCII.fullmatch(candidate):
        raise SdpRejected("candidate_invalid", "the candidate has unexpected characters")
    if candidate == "":
        return
    if not candidate.startswith("candidate:"):
        raise SdpRejected("candidate_invalid", "the candidate must start with candidate:")
    try:
        Candidate.from_sdp(candidate.removeprefix("candidate:"))
    except Exception:
        # aioice raises ValueError for short lines and bad numbers today; whatever a
        # parser fed untrusted text raises is a rejection, never a server error.
        raise SdpRejected("candidate_invalid", "the candidate could not be parsed") from None


def _check_candidate_target(sdp_mid: str | None, sdp_mline_index: int | None) -> None:
    if sdp_mid is not None and (len(sdp_mid) > MAX_MID_CHARS or not _MID.fullmatch(sdp_mid)):
        raise SdpRejected("candidate_invalid", "the candidate's media id is invalid")
    if sdp_mline_index is not None and (
        isinstance(sdp_mline_index, bool) or not 0 <= sdp_mline_index < MAX_MEDIA_SECTIONS
    ):
        raise SdpRejected("candidate_invalid", "the candidate's media section index is invalid")
