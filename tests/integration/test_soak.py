"""bench/soak.py in a short mode: the whole rig (two PostgreSQL servers, three replicas,
kills, a store restart, a warehouse outage, a failing receiver) runs and loses nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_short_soak_loses_nothing() -> None:
    why = servers.postgres_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            *("--minutes", "0.5", "--contracts", "60", "--owners", "3"),
            *("--kill-every", "10", "--drain", "120"),
            # fewer 500s than the full soak's third: with a dozen messages, a third at
            # random makes a 5-in-a-row failure (2.5 min of back-off) likely enough to flake
            *("--fail-rate", "0.15"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert len(re.findall(r"\] kill -9 [abc] ", out)) == 2, out
    assert "state store started again" in out and "warehouse started again" in out, out
    recorded = re.search(r"transitions recorded: (\d+)", out)
    assert recorded and int(recorded.group(1)) > 0, out
    assert "lost: 0" in out, out
    delivered = re.search(r"delivered: (\d+) of (\d+)", out)
    assert delivered and delivered.group(1) == delivered.group(2), out
