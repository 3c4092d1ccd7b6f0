"""``videodesk report sessions|events --from DATE --to DATE [--format csv|json]``: read
from the records database (``VIDEODESK_DATABASE_URL``, or the embedded file)."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from server.cli.records_db import with_records
from server.core.settings import Settings
from server.observability.reports import columns_of, csv_chunks, json_chunks, parse_when, rows_of
from server.records.database import database_url


async def report_from_cli(settings: Settings, args: argparse.Namespace) -> int:
    try:
        start = parse_when(args.start) if args.start else 0
        end = parse_when(args.end, end=True) if args.end else 2**53
    except ValueError as exc:
        print(f"videodesk: {exc}", file=sys.stderr)
        return 2
    url = database_url(settings)
    if url.get_backend_name() == "sqlite" and not settings.records_file.exists():
        print(f"videodesk: no records yet in {settings.records_file} (has the desk run here?)",
              file=sys.stderr)  # fmt: skip
        return 1

    async def work(engine: AsyncEngine) -> int:
        rows = rows_of(engine, args.kind, start, end)
        chunks = (
            json_chunks(args.kind, rows)
            if args.format == "json"
            else csv_chunks(rows, columns_of(args.kind))
        )
        async for chunk in chunks:
            sys.stdout.write(chunk)
        return 0

    return await with_records(settings, work)
