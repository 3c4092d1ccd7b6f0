"""``videodesk records erase --visit ID``: erase one visit's patient's personal data
(server/records/erase.py). Audited like the admin API's erase."""

from __future__ import annotations

import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from server.cli.records_db import with_records
from server.core.audit import audit
from server.core.redis_keys import Keys
from server.core.settings import Settings
from server.core.store import close, connect
from server.records.erase import erase_visit


async def erase_from_cli(settings: Settings, visit: str) -> int:
    keys = Keys(settings.desk)
    # The embedded store lives inside the running desk: only its API reaches it.
    redis = None if settings.embedded else connect(settings)

    async def work(engine: AsyncEngine) -> int:
        erased = await erase_visit(engine, redis, keys, visit)
        if erased is None:
            print(f"videodesk: no visit {visit} in the records", file=sys.stderr)
            return 1
        if redis is not None:
            await audit(redis, keys, "personal_data_erased", by="command line", visit=visit,
                        patient=erased.patient)  # fmt: skip
        print(f"erased visit {visit}: {erased.records} recorded entries blanked, "
              f"{erased.chats} chat logs deleted")  # fmt: skip
        if redis is None:
            print("note: embedded desk: its live store was not reached; use the admin API "
                  "(DELETE /api/v1/records/visits/<id>/personal-data) while it runs",
                  file=sys.stderr)  # fmt: skip
        return 0

    try:
        return await with_records(settings, work)
    finally:
        if redis is not None:
            await close(redis)
