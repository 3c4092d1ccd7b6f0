"""The WebSocket side of the desk: one socket per page.

``endpoint.py`` authenticates and runs the receive loop; each message family
is handled in one module (``patient.py``, ``agent.py``, ``call.py``,
``lobby.py``, ``staff.py``); ``hub.py`` holds this process's sockets and
delivers messages to them; ``outbound.py`` builds what the server sends.
"""
