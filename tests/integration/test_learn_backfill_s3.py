"""The backfill of `files` learned histories from `s3://` globs against a real local S3
endpoint (moto's server): objects' LastModified without a column, the distinct minutes of a
column inside the objects with one, both only for objects written in (since, now]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config.settings import Settings
from monitor.core.models import Contract, Expectation, FilesSource, Learn
from monitor.sources.base import ReadContext
from monitor.sources.files import backfill

pytest.importorskip("moto.server", reason="SKIPPED LOUDLY: moto[s3] not installed")
M = timedelta(minutes=1)


def contract(name: str, glob: str, column: str | None = None) -> Contract:
    src = FilesSource(glob=glob, column=column)
    return Contract(name, "ops", "lake", src, Expectation(learn=Learn()))


def by_name(done: list[tuple[Contract, Any]]) -> dict[str, Any]:
    return {c.name: got for c, got in done}


def test_s3_objects_give_their_times_and_their_column_s_minutes(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="drops")
    now = datetime.now(UTC).replace(microsecond=0)
    loads = [now.replace(second=0) - 50 * M, now.replace(second=0) - 20 * M]
    for i, t in enumerate(loads):
        rows = "".join(f"{n},{(t + n * M / 4).strftime('%Y-%m-%d %H:%M:%S')}\n" for n in range(3))
        s3.put_object(Bucket="drops", Key=f"orders/part-{i}.csv", Body=b"id,at\n" + rows.encode())
    listed = {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket="drops")["Contents"]}
    glob = "s3://drops/orders/*.csv"
    ctx = ReadContext(settings=Settings(base_dir=tmp_path), now=now + M, as_of=now + M)
    plain, inside = contract("plain", glob), contract("inside", glob, "at")
    got = by_name(backfill.backfill([(plain, now - 120 * M), (inside, now - 120 * M)], ctx))
    assert got["plain"] == sorted(t.timestamp() for t in listed.values())
    minute = [t.timestamp() for t in loads]
    assert got["inside"] == minute  # three rows in one minute each: one update per load
    # Objects written at or before the marker are not read again.
    later = by_name(backfill.backfill([(plain, now + M), (inside, now + M)], ctx))
    assert later == {"plain": [], "inside": []}
