"""The queue and routing engine: patients wait, agents are offered the next patient.

Every state change is one Lua script in Redis (``scripts/*.lua``) that also
appends an event to the desk's stream. :class:`~server.queue.engine.QueueEngine`
is the Python face of those scripts.
"""
