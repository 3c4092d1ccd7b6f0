"""Which Redis errors mean "not now" rather than a bug.

An outage, a failover in progress, a replica refusing writes, too few replicas to
write, a cluster moving or electing the desk's slot: the person is told
``unavailable`` (503 over HTTP) and may simply retry. Anything else from Redis (a
script's own error) is a bug and surfaces as ``internal``.
"""

from __future__ import annotations

import re

from redis import exceptions as redis_errors

OUTAGE_TYPES: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    redis_errors.ClusterError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.MasterDownError,
    redis_errors.MovedError,
    redis_errors.AskError,
    redis_errors.BusyLoadingError,
)

# Error codes Redis replies with that redis-py leaves as a plain ResponseError, as
# the reply of a command or of a script refused before it ran (a shebang script on a
# replica, or with min-replicas-to-write unmet).
OUTAGE_CODES = ("NOREPLICAS", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MOVED",
                "ASK", "LOADING", "UNBLOCKED")  # fmt: skip


# redis-py prefixes an error inside a pipeline: "Command # 1 (SET …) of pipeline caused
# error: NOREPLICAS …" (the original reply sometimes quoted as a tuple).
_IN_PIPELINE = re.compile(r"^Command # \d+ .*? of pipeline caused error: [('\"]*([A-Z]+)", re.S)


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OUTAGE_TYPES):
        return True
    if isinstance(exc, redis_errors.ResponseError):
        message = str(exc)
        in_pipeline = _IN_PIPELINE.match(message)
        code = in_pipeline.group(1) if in_pipeline else message.split(" ", 1)[0]
        return code in OUTAGE_CODES
    return False
