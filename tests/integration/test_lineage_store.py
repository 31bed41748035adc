"""OpenLineage events in the state store: states, `--at`, and retention (SPEC 12)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.core.lineage import LineageRefused, RunEvent, parse
from monitor.store import Store
from monitor.store.lineage import job_state, record

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def ev(kind: str, at: datetime, run: str | None = None, job: str = "load") -> RunEvent:
    return RunEvent(kind, at, run or str(uuid.uuid4()), "airflow", job)


def test_states_and_as_of(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", tmp_path) as store:
        r1, r2, r3 = (str(uuid.uuid4()) for _ in range(3))
        record(
            store,
            [
                ev("START", T0 - 3 * H, r1),
                ev("COMPLETE", T0 - 2 * H, r1),
                ev("START", T0 - H, r2),
                ev("FAIL", T0 - H / 2, r2),
                ev("START", T0 - H / 4, r3),
            ],
            T0,
        )
        now = job_state(store, "airflow", "load")
        assert now.last_complete == T0 - 2 * H
        assert now.failed_since == 1
        assert now.running_since == T0 - H / 4
        before = job_state(store, "airflow", "load", as_of=T0 - 90 * timedelta(minutes=1))
        assert (before.last_complete, before.failed_since, before.running_since) == (
            T0 - 2 * H,
            0,
            None,
        )


def test_retention_keeps_the_newest_complete_and_everything_after(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", tmp_path) as store:
        record(
            store,
            [
                ev("COMPLETE", T0 - 40 * 24 * H),
                ev("COMPLETE", T0 - 35 * 24 * H),  # a monthly job's newest: kept
                ev("FAIL", T0 - 34 * 24 * H),  # after it: kept
                ev("COMPLETE", T0 - 40 * 24 * H, job="daily"),
                ev("COMPLETE", T0 - H, job="daily"),
            ],
            T0,
        )
        store.prune(T0 - 30 * 24 * H)
        monthly = job_state(store, "airflow", "load")
        assert monthly.last_complete == T0 - 35 * 24 * H and monthly.failed_since == 1
        assert monthly.events == 2
        assert job_state(store, "airflow", "daily").events == 1


def test_parse_takes_arrays_and_names_the_bad_field() -> None:
    run = {"runId": str(uuid.uuid4())}
    job = {"namespace": "airflow", "name": "load"}
    body = (
        b'[{"eventType": "complete", "eventTime": "2026-12-01T12:00:00+01:00", "run": '
        + str(run).replace("'", '"').encode()
        + b', "job": '
        + str(job).replace("'", '"').encode()
        + b'}, {"job": {"namespace": "a", "name": "b"}}]'
    )
    parsed = parse(body)
    assert parsed.others == 1
    [one] = parsed.runs
    assert one.event_type == "COMPLETE" and one.event_time == T0 - H
    for doc, field in (
        (b'{"run": {}, "job": {}}', "eventTime"),
        (b'{"eventType": "DONE", "run": {}, "job": {}}', "eventType"),
        (b'{"eventTime": "2026-12-01T12:00:00Z", "run": {"runId": "1"}, "job": {}}', "run.runId"),
    ):
        try:
            parse(doc)
        except LineageRefused as exc:
            assert str(exc).startswith(field), (doc, exc)
        else:
            raise AssertionError(doc)
