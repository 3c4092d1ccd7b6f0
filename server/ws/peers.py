"""Who is whose peer: the one place a socket's call state changes.

A participant may only message the peer of their current call (``server/ws/call.py``
reads ``Connection.peer`` and ``Connection.call``). Those are set here, and only here,
as the messages that start and end a call reach the participant's sockets — so the
rule follows what each party was actually told, on whichever process they are.

:func:`before_send` is the hub's hook for every delivered message:

* ``call.started`` sets the socket's call and peer (the peer's id travels in the hidden
  ``peer_id`` field, which the browser never sees);
* ``call.parties`` sets the socket's own handle and everyone else's (the participant
  behind each handle travels in the hidden ``party_ids`` field);
* ``call.ended`` clears them;
* ``queue.state`` is pushed only when something the patient sees changed (the time
  waited grows by itself: the page counts on), and keeps the socket's queue.
"""

from __future__ import annotations

import time
from typing import Any

from server.ws.connection import Connection

HIDDEN = "peer_id"  # added by server/ws/outbound.py, kept by the server
HIDDEN_PARTIES = "party_ids"  # handle → participant, added by server/ws/parties.py


def before_send(conn: Connection, message: dict[str, Any]) -> dict[str, Any] | None:
    """What this socket is sent of ``message`` (None: nothing), its call state updated."""
    kind = message.get("type")
    if kind == "call.started":
        conn.peer = str(message.get(HIDDEN, ""))
        conn.call = str(message.get("call", ""))
    elif kind == "call.parties":
        if message.get("call") == conn.call:
            ids = message.get(HIDDEN_PARTIES) or {}
            conn.handle = str(message.get("you", ""))
            conn.parties = {str(h): str(p) for h, p in ids.items() if h != conn.handle}
        return {k: v for k, v in message.items() if k != HIDDEN_PARTIES}
    elif kind == "call.ended":
        if message.get("call") not in (conn.call, None):
            return message  # a call this socket is no longer in
        conn.peer = ""
        conn.call = ""
        conn.handle = ""
        conn.parties = {}
    elif kind == "queue.state":
        conn.waiting_since = time.monotonic() - int(message.get("waited_s") or 0)
        news = {k: v for k, v in message.items() if k != "waited_s"}
        if news == conn.last_state:
            return None  # nothing changed for this patient: no push
        conn.last_state = news
        conn.queue = str(message.get("queue") or conn.queue)
    if HIDDEN in message:
        return {k: v for k, v in message.items() if k != HIDDEN}
    return message
