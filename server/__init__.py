"""videodesk: the aiohttp server (settings, app, auth, queue engine, WebSocket, REST API, pages)."""

__version__ = "0.1.0"
