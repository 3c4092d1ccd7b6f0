"""videodesk: the aiohttp server (settings, app, auth, queue engine, WebSocket, REST API, pages)."""
