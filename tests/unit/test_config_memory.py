"""What a loaded project costs in memory (issue 17: 100,000 contracts per replica).

Each of these fails on the loader before the change it guards: contracts with an instance
dict per object, a string per contract for every repeated value, an expectation and a
tags tuple per contract however alike, one empty dict of metadata each, a YAML tree that
keeps a PyYAML mark per key and per value (and pins the allocator's memory once freed).
Positions in messages stay exactly where they were.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

from monitor.config import yamlpos
from monitor.core.models import NO_METADATA
from tests.unit.configkit import load

TWO = """
defaults: {warehouse: main}
contracts:
  - name: shop.orders
    owner: data-platform
    table: shop.orders
    column: loaded_at
    warn_after: 1h
    timezone: Europe/Berlin
    tags: [revenue-critical]
  - name: shop.refunds
    owner: data-platform
    table: shop.refunds
    column: loaded_at
    warn_after: 1h
    timezone: Europe/Berlin
    tags: [revenue-critical]
  - name: shop.export
    owner: data-platform
    query: "SELECT max(loaded_at) FROM shop.export"
    learn: true
    metadata: {runbook: "https://wiki.example.com/export"}
"""


def _generated(n: int) -> str:
    """The checks file bench/scale.py serves (one flow mapping per contract)."""
    lines = ["defaults: {warehouse: main, owner: ops}", "contracts:"]
    for i in range(n):
        lines.append(
            f"  - {{name: t.table_{i}, table: table_{i}, column: t, warn_after: 1d, "
            f"error_after: 2d, check_every: 5m}}"
        )
    return "\n".join(lines) + "\n"


def test_loaded_contracts_keep_no_instance_dicts(tmp_path: Path) -> None:
    project = load(tmp_path, checks={"a.yml": TWO})
    for c in project.contracts:
        parts = (c, c.source, c.expectation, c.location, c.expectation.learn)
        for obj in (p for p in parts if p is not None):
            assert not hasattr(obj, "__dict__"), type(obj).__name__


def test_contracts_share_the_strings_they_repeat(tmp_path: Path) -> None:
    orders, refunds, export = load(tmp_path, checks={"a.yml": TWO}).contracts
    assert orders.owner == refunds.owner == export.owner == "data-platform"
    assert orders.owner is refunds.owner is export.owner
    assert orders.source.column is refunds.source.column  # type: ignore[union-attr]
    assert orders.expectation.timezone is refunds.expectation.timezone
    assert orders.tags[0] is refunds.tags[0]
    assert orders.expectation.warn_after is refunds.expectation.warn_after


def test_contracts_written_alike_share_their_expectation_and_tags(tmp_path: Path) -> None:
    orders, refunds, export = load(tmp_path, checks={"a.yml": TWO}).contracts
    assert orders.expectation is refunds.expectation
    assert orders.tags is refunds.tags
    assert export.expectation != orders.expectation
    assert export.expectation.learn is not None and orders.expectation.learn is None


def test_contracts_without_metadata_share_one_read_only_empty_map(tmp_path: Path) -> None:
    orders, refunds, export = load(tmp_path, checks={"a.yml": TWO}).contracts
    assert orders.metadata is refunds.metadata is NO_METADATA
    assert dict(orders.metadata) == {}
    assert dict(export.metadata) == {"runbook": "https://wiki.example.com/export"}


def test_positions_far_down_and_far_right_are_exact() -> None:
    # Positions are packed into ints: lines past 65,536 and columns past 65,536 still
    # come back exactly, for keys, values and list items.
    wide = "x" * 70_000
    text = "a: 1\n" + "# filler\n" * 70_000 + f"b: {{w: {wide}, far: [p, q]}}\n"
    data, found = yamlpos.load(text, {})
    assert found == []
    b = data["b"]
    assert data.key_pos("b") == (70_002, 1)
    assert data.val_pos("b") == (70_002, 4)
    assert b.key_pos("w") == (70_002, 5)
    assert b.key_pos("far") == (70_002, 70_010)
    assert b.val_pos("far") == (70_002, 70_015)
    assert b["far"].item_pos(1) == (70_002, 70_019)
    assert b.key_pos("nope") == b.pos == (70_002, 4)


def test_merged_keys_keep_the_positions_of_their_anchor() -> None:
    text = textwrap.dedent(
        """\
        base: &b
          owner: ops
          warn_after: 1h
        one:
          <<: *b
          name: x
        """
    )
    data, found = yamlpos.load(text, {})
    assert found == []
    assert data["one"].key_pos("owner") == (2, 3)
    assert data["one"].val_pos("warn_after") == (3, 15)
    assert data["one"].key_pos("name") == (6, 3)


def test_a_parsed_checks_file_holds_about_a_kilobyte_per_contract() -> None:
    # Was ~3.2 KB: a PyYAML mark (80 bytes) per key and per value, two position dicts
    # per mapping, and every key and repeated value a string of its own.
    text = _generated(2000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        data, found = yamlpos.load(text, {})
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert found == [] and len(data["contracts"]) == 2000
    assert held / 2000 < 1_400, held / 2000


RSS_PROBE = """
import gc, sys
from pathlib import Path
from monitor.config.loader import load_project

def rss_kb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

gc.collect()
before = rss_kb()
project = load_project(cwd=Path(sys.argv[1]), env={})
gc.collect()
print((rss_kb() - before) * 1024 / len(project.contracts))
"""


def test_a_loaded_project_costs_under_2_4_kb_of_rss_per_contract(tmp_path: Path) -> None:
    # RSS, not live objects: what the YAML tree's freed memory left pinned counts too (it
    # was ~3.5 KB per contract, ~1.4 KB now; 340 MB at 100,000 contracts, now ~140 MB).
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "all.yml").write_text(_generated(5000))
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    assert float(out) < 2_400, out
