"""``videodesk report sessions|events --from DATE --to DATE [--format csv|json]``: read
from the records database (``VIDEODESK_DATABASE_URL``, or the embedded file)."""

from __future__ import annotations

import argparse
import sys

from server.core.settings import Settings
from server.observability.reports import columns_of, csv_chunks, json_chunks, parse_when, rows_of
from server.records.database import (
    DatabaseUnavailable,
    SchemaError,
    check,
    database_url,
    open_engine,
    schema_of,
    shown,
)


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
    engine = open_engine(url)
    try:
        check(await schema_of(engine))
        rows = rows_of(engine, args.kind, start, end)
        chunks = (
            json_chunks(args.kind, rows)
            if args.format == "json"
            else csv_chunks(rows, columns_of(args.kind))
        )
        async for chunk in chunks:
            sys.stdout.write(chunk)
    except SchemaError as exc:
        print(f"videodesk: {exc}", file=sys.stderr)
        return 1
    except DatabaseUnavailable as exc:
        print(f"videodesk: the records database {shown(url)} is not reachable "
              f"({type(exc).__name__})", file=sys.stderr)  # fmt: skip
        return 1
    finally:
        await engine.dispose()
    return 0
