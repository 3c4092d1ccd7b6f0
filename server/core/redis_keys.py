"""Every Redis key name and TTL the desk uses, in one place.

All keys of one desk share the hash tag ``{desk}`` so that the multi-key Lua
scripts run unchanged on Redis Cluster (every key a script touches lives in one
slot). Ids inside key names are random and opaque (``p_…``, ``a_…``, ``c_…``,
token ids): never a name, reason, phone number or address.
"""

from __future__ import annotations

from dataclasses import dataclass

# TTLs (seconds). Anything that can outlive its purpose expires.
SESSION_MAX_TTL = 12 * 3600
PATIENT_RECORD_TTL = 7 * 24 * 3600  # kept for reports and the survey after the call
CALL_RECORD_TTL = 7 * 24 * 3600
RATE_WINDOW = 60
SOCKET_LEASE_MS = 15_000  # an open socket's count lapses this long after its process dies


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names of one desk. ``Keys("main").seq == "vd:{main}:seq"``."""

    desk: str

    @property
    def prefix(self) -> str:
        return f"vd:{{{self.desk}}}:"

    # -- tokens and sessions --------------------------------------------------
    def revoked(self, jti: str) -> str:
        """Denylist entry of a revoked token; expires when the token would have."""
        return f"{self.prefix}revoked:{jti}"

    @property
    def tokens(self) -> str:
        """Sorted set of issued token ids scored by expiry (the admin's token list)."""
        return f"{self.prefix}tokens"

    def token(self, jti: str) -> str:
        """Hash describing one issued token (role, label, queue, times); no secret."""
        return f"{self.prefix}token:{jti}"

    def invite_used(self, jti: str) -> str:
        """Set once (SET NX) when a single-use invite is consumed by a patient session."""
        return f"{self.prefix}invite:{jti}"

    def session(self, sid: str) -> str:
        return f"{self.prefix}sess:{sid}"

    def token_sessions(self, jti: str) -> str:
        """Set of session ids created from one token, so revocation can end them."""
        return f"{self.prefix}toksess:{jti}"

    def session_sockets(self, sid: str) -> str:
        """Sorted set of the open sockets of one session on every process (member:
        ``<process>:<n>``, score: lease deadline in ms, renewed while the socket is open)."""
        return f"{self.prefix}socks:s:{sid}"

    def token_sockets(self, jti: str) -> str:
        """The same for every socket opened with one token (desk links excepted)."""
        return f"{self.prefix}socks:t:{jti}"

    def address_sockets(self, bucket: str) -> str:
        """The same for every socket from one client address; ``bucket`` is a keyed hash
        of the address (server/core/ratelimit.py), never the address."""
        return f"{self.prefix}socks:a:{bucket}"

    def rate(self, bucket: str) -> str:
        """Fixed-window counter for rate limits shared by every process."""
        return f"{self.prefix}rate:{bucket}"

    # -- queue engine ---------------------------------------------------------
    def mail(self, mail_id: str) -> str:
        """Hash: the status of one invitation e-mail (no address, no link), for a day."""
        return f"{self.prefix}mail:{mail_id}"

    @property
    def ready_probe(self) -> str:
        """A short-lived key /readyz writes: a replica (after a failover) refuses it."""
        return f"{self.prefix}ready"

    @property
    def seq(self) -> str:
        """Counter for tickets, fencing tokens and call ids."""
        return f"{self.prefix}seq"

    @property
    def clock_skew(self) -> str:
        """Milliseconds added to Redis TIME by every script (absent in production).

        Tests and fault drills move the desk's clock forward with it instead of
        sleeping; all processes see the same clock because it lives in Redis.
        """
        return f"{self.prefix}clock:skew"

    def queue(self, name: str) -> str:
        """Everyone waiting in a queue (any language): position and dashboard."""
        return f"{self.prefix}q:{name}"

    def queue_language(self, name: str, language: str) -> str:
        """Routing set: waiting patients of one queue who speak one language."""
        return f"{self.prefix}ql:{name}:{language}"

    def patient(self, pid: str) -> str:
        return f"{self.prefix}p:{pid}"

    def agent(self, aid: str) -> str:
        return f"{self.prefix}a:{aid}"

    def call(self, call_id: str) -> str:
        return f"{self.prefix}c:{call_id}"

    def call_guests(self, call_id: str) -> str:
        """A call's guests (server/queue/parties.py): hash of ``h:<handle>`` → the guest
        as JSON, ``p:<guest id>`` → handle, ``count``, ``next``, ``seq``."""
        return f"{self.prefix}c:{call_id}:guests"

    def call_chat(self, call_id: str) -> str:
        """List of a call's chat messages (for a party who reconnects)."""
        return f"{self.prefix}c:{call_id}:chat"

    @property
    def agents(self) -> str:
        """Set of every agent id that has signed in (for the dashboard)."""
        return f"{self.prefix}agents"

    def staffed(self, queue: str) -> str:
        """Agents signed in (not offline) who serve a queue."""
        return f"{self.prefix}staffed:{queue}"

    def available(self, queue: str) -> str:
        """Available agents of a queue scored by when they became idle (longest idle first)."""
        return f"{self.prefix}avail:{queue}"

    @property
    def offers(self) -> str:
        """Offer deadlines (ms): member = agent id."""
        return f"{self.prefix}offers"

    @property
    def leases(self) -> str:
        """Presence lease deadlines (ms): member = ``p:<pid>`` or ``a:<aid>``."""
        return f"{self.prefix}leases"

    @property
    def callbacks_scheduled(self) -> str:
        """Call-backs booked for a time slot, scored by the slot's start (ms)."""
        return f"{self.prefix}cbsched"

    def stats(self, queue: str) -> str:
        """Per-queue counters and the handle-time moving average."""
        return f"{self.prefix}stats:{queue}"

    @property
    def samples(self) -> str:
        """Stream of per-minute samples of each queue's waiting count (charts)."""
        return f"{self.prefix}samples"

    def sample_lock(self, minute: int) -> str:
        """Taken (SET NX) by the one process that records a given minute's sample."""
        return f"{self.prefix}samplelock:{minute}"

    @property
    def events(self) -> str:
        """Stream of every state change; trimmed by the recorder once recorded."""
        return f"{self.prefix}events"

    @property
    def queue_changes(self) -> str:
        """Pub/sub channel: a queue's order changed (positions need a push)."""
        return f"{self.prefix}qchanged"

    # -- signaling relay ------------------------------------------------------
    @property
    def routes(self) -> str:
        """Hash: participant id → id of the process that holds its socket."""
        return f"{self.prefix}routes"

    def inbox(self, process_id: str) -> str:
        """Stream inbox of one server process."""
        return f"{self.prefix}inbox:{process_id}"

    def process(self, process_id: str) -> str:
        """Liveness key of one server process (expires unless refreshed)."""
        return f"{self.prefix}proc:{process_id}"

    @property
    def broadcast(self) -> str:
        """Stream every process reads: revocations, staff messages, queue changes."""
        return f"{self.prefix}broadcast"
