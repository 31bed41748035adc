"""The pieces of bench/soak.py: a receiver that fails a third of its requests, a PostgreSQL
warehouse whose loaders keep writing (some tables pause long enough to go stale), the
project files, and the accounting that turns the state store and the receiver into
delivered / duplicated / lost."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

# --- a receiver that answers 500 to a third of its requests ----------------------------------


@dataclass(frozen=True)
class Got:
    """One message the receiver accepted (answered 200)."""

    path: str
    title: str
    body: str


class FlakyReceiver:
    """apprise's `json://` target: records accepted POSTs and answers each request with
    HTTP 500 with probability `fail_rate` (not recorded: the sender must try again).

    At random, not every third request: senders retry on a shared back-off schedule, in id
    order, so a fixed pattern hits the same message again and again (seen: six 500s in a
    row for one message at "every third")."""

    def __init__(self, fail_rate: float = 1 / 3, seed: int = 11) -> None:
        self.accepted: list[Got] = []
        self.attempts = 0
        self.failed = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(n)
                with owner._lock:
                    owner.attempts += 1
                    fail = owner._rng.random() < fail_rate
                    if fail:
                        owner.failed += 1
                    else:
                        doc = json.loads(raw)
                        owner.accepted.append(
                            Got(self.path, str(doc.get("title", "")), str(doc.get("message", "")))
                        )
                try:
                    self.send_response(500 if fail else 200)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"no" if fail else b"ok")
                except OSError:
                    pass  # the sender was killed mid-send

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, owner: str) -> str:
        return f"json://127.0.0.1:{self.port}/{owner}"

    def snapshot(self) -> list[Got]:
        with self._lock:
            return list(self.accepted)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- the warehouse and its loaders -------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One warehouse table and how its loader behaves.

    Steady tables get a row every `every` seconds. Flapping tables do that for the first
    `on` seconds of each `period`, then pause: long enough to pass `error_after`, so the
    contract goes stale and fresh again once per period."""

    index: int
    every: float
    period: float = 0.0  # 0: steady
    on: float = 0.0
    offset: float = 0.0

    @property
    def name(self) -> str:
        return f"t_{self.index}"

    @property
    def flaps(self) -> bool:
        return self.period > 0

    def writing(self, t: float) -> bool:
        """Whether the loader writes at `t` seconds into the run."""
        return not self.flaps or (t + self.offset) % self.period < self.on


def plan_tables(count: int, flapping: float, seed: int = 7) -> list[Table]:
    """`count` tables, a `flapping` fraction of them pausing once every 100 s or so."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if rng.random() < flapping:
            period = rng.uniform(80, 120)
            out.append(Table(i, 3.0, period, period * 0.55, rng.uniform(0, period)))
        else:
            out.append(Table(i, rng.uniform(8, 12)))
    return out


class Loaders:
    """One thread writing `now()` rows into the warehouse as the tables' plans say; a
    warehouse that is down is retried every second (those writes are simply missed)."""

    def __init__(self, url: str, tables: Sequence[Table]) -> None:
        self.url = url
        self.tables = list(tables)
        self.steady = False  # the drain: every table writes, nothing flaps any more
        self.rows = 0
        self.errors = 0
        self._next = {t.index: 0.0 for t in tables}
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._engine = sa.create_engine(url, pool_pre_ping=True)
        self._thread = threading.Thread(target=self._run, daemon=True, name="loaders")

    def create(self) -> None:
        with self._engine.begin() as conn:
            for t in self.tables:
                conn.exec_driver_sql(
                    f"CREATE TABLE {t.name} (loaded_at timestamptz NOT NULL, n int)"
                )
                conn.exec_driver_sql(f"INSERT INTO {t.name} VALUES (now(), 0)")

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic() - self._t0
            due = [
                x for x in self.tables if self._next[x.index] <= t and (self.steady or x.writing(t))
            ]
            if due:
                try:
                    with self._engine.begin() as conn:
                        conn.exec_driver_sql(
                            "".join(f"INSERT INTO {x.name} VALUES (now(), 1);" for x in due)
                        )
                    self.rows += len(due)
                    for x in due:
                        self._next[x.index] = t + x.every
                except sa.exc.SQLAlchemyError:
                    self.errors += 1
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._engine.dispose()


def write_project(
    directory: Path,
    warehouse_url: str,
    tables: Sequence[Table],
    receiver: FlakyReceiver,
    *,
    owners: int,
    lease_ttl: str,
) -> None:
    """fresh.yml and checks/all.yml: one contract per table, spread over `owners`."""
    owner_lines = "".join(
        f'  o{k}:\n    notify: ["{receiver.url(f"o{k}")}"]\n' for k in range(owners)
    )
    (directory / "fresh.yml").write_text(
        f"""
warehouses:
  main:
    url: {warehouse_url}
state:
  url: ${{FRESH_STATE_URL}}
  lease_ttl: {lease_ttl}
owners:
{owner_lines}alerts:
  notify_on: [stale, error]
  send_resolved: true
  group_wait: 2s
  repeat_every: 1h
server:
  replica: ${{FRESH_REPLICA}}
"""
    )
    lines = ["defaults: {warehouse: main}", "contracts:"]
    for t in tables:
        limits = (
            "warn_after: 10s, error_after: 20s, check_every: 10s"
            if t.flaps
            else "warn_after: 45s, error_after: 90s, check_every: 20s"
        )
        lines.append(
            f"  - {{name: c_{t.index}, owner: o{t.index % owners}, table: {t.name}, "
            f"column: loaded_at, {limits}}}"
        )
    (directory / "checks").mkdir(exist_ok=True)
    (directory / "checks" / "all.yml").write_text("\n".join(lines) + "\n")


# --- accounting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    id: int
    owner: str
    title: str
    body: str
    transition_ids: tuple[int, ...]
    sent: bool
    failed: bool
    state: str = ""  # attempts, claim and last error, for the report of a lost row


@dataclass(frozen=True)
class TransitionRow:
    id: int
    contract: str
    kind: str
    outcome: str | None


@dataclass
class Tally:
    """What the soak prints at the end."""

    transitions: Counter[str] = field(default_factory=Counter)  # by kind
    outcomes: Counter[str] = field(default_factory=Counter)
    to_send: int = 0  # transitions whose outcome is `sent` (grouping decided to send them)
    delivered: int = 0  # of those, carried by a message the receiver accepted
    messages: int = 0  # outbox rows
    received: int = 0  # messages the receiver accepted
    duplicated: int = 0  # messages received more than once (extra copies)
    duplicated_cut: int = 0  # of those, of a row whose send a kill or the store restart cut
    lost: list[str] = field(default_factory=list)  # what was never delivered, and why
    unmatched: int = 0  # received messages that match no outbox row


def tally(
    transitions: Iterable[TransitionRow],
    rows: Iterable[OutboxRow],
    received: Iterable[Got],
    *,
    cut: set[int],
    unreconciled: Sequence[str],
) -> Tally:
    """Count deliveries. A message is identified by (owner path, title, body): a resend
    carries the payload rendered once at flush time, so copies are equal. `cut` holds the
    outbox ids whose claim a kill (or the state store's restart) interrupted;
    `unreconciled` the contracts whose saved status the alerts never caught up with."""
    out = Tally()
    trs = list(transitions)
    for t in trs:
        out.transitions[t.kind] += 1
        out.outcomes[t.outcome or "undecided"] += 1
    # apprise strips the ends of title and body before it posts them
    got = Counter((g.path, g.title.strip(), g.body.strip()) for g in received)
    out.received = sum(got.values())
    by_key: dict[tuple[str, str, str], list[OutboxRow]] = {}
    all_rows = list(rows)
    out.messages = len(all_rows)
    for r in all_rows:
        by_key.setdefault((f"/{r.owner}", r.title.strip(), r.body.strip()), []).append(r)
    delivered_ids: set[int] = set()
    carried: set[int] = set()
    for key, same in by_key.items():
        n = got.get(key, 0)
        for r in same:
            carried.update(r.transition_ids)
        if n >= len(same):
            for r in same:
                delivered_ids.update(r.transition_ids)
        extra = max(0, n - len(same))
        out.duplicated += extra
        if extra and any(r.id in cut for r in same):
            out.duplicated_cut += extra
        for r in same[n:]:
            why = "refused for good" if r.failed else "sent, never received" if r.sent else "unsent"
            out.lost.append(f"outbox row {r.id} ({r.owner}): {why}; {r.state}")
    out.unmatched = sum(n for key, n in got.items() if key not in by_key)
    for t in trs:
        if t.outcome is None:
            out.lost.append(f"transition {t.id} ({t.contract} {t.kind}): never decided")
        elif t.outcome == "sent":
            out.to_send += 1
            if t.id in delivered_ids:
                out.delivered += 1
            elif t.id not in carried:
                out.lost.append(f"transition {t.id} ({t.contract} {t.kind}): in no message")
    out.lost += [f"contract {c}: status never recorded by the alerts" for c in unreconciled]
    return out


def read_outbox(conn: sa.Connection) -> list[OutboxRow]:
    rows = conn.execute(
        sa.text(
            "SELECT id, owner, payload, transition_ids, sent_at IS NOT NULL AS sent, "
            "failed_permanently, attempts, created_at, next_attempt_at, claimed_by, "
            "claimed_until, last_error FROM outbox ORDER BY id"
        )
    )
    out = []
    for r in rows:
        p = r.payload if isinstance(r.payload, dict) else json.loads(r.payload)
        ids = (
            r.transition_ids if isinstance(r.transition_ids, list) else json.loads(r.transition_ids)
        )
        out.append(
            OutboxRow(
                r.id,
                r.owner,
                p["title"],
                p["body"],
                tuple(ids),
                bool(r.sent),
                bool(r.failed_permanently),
                f"attempts {r.attempts}, created {r.created_at:%H:%M:%S}, next "
                f"{r.next_attempt_at:%H:%M:%S}, claimed by {r.claimed_by} until "
                f"{r.claimed_until}, last error {r.last_error}",
            )
        )
    return out


def read_transitions(conn: sa.Connection) -> list[TransitionRow]:
    rows = conn.execute(sa.text("SELECT id, contract, kind, outcome FROM transitions"))
    return [TransitionRow(r.id, r.contract, r.kind, r.outcome) for r in rows]


def unreconciled(conn: sa.Connection) -> list[str]:
    """Contracts whose saved status differs from the status their alert last saw."""
    rows = conn.execute(
        sa.text(
            "SELECT c.name FROM contract_state c LEFT JOIN alert_state a "
            "ON a.contract = c.name WHERE a.status IS DISTINCT FROM c.status"
        )
    )
    return [r.name for r in rows]
