"""The call side of videodesk: message schema, SDP/ICE checks, relay, aiortc peers, headless client.

A library: it knows nothing of ``server``.
"""
