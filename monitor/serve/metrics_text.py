"""The per-contract series of SPEC section 6 as Prometheus text, and their cache.

Written directly, not through prometheus-client's metric objects: 10,000 contracts make
110,000 samples, which take ~5 s through GaugeMetricFamily + generate_latest (label
validation and escaping per sample) and well under a second here.

`SeriesCache` keeps each contract's lines as bytes between scrapes and renders them again
only when its verdict (or the configuration) changed: a scrape between two rounds then
joins cached pieces (the verdicts are still read, to see what changed). The output is the
same, byte for byte, as the uncached renderer it replaced on the same state (kept as the
yardstick in tests/unit/metrics_reference.py).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from monitor.core.labels import BASE_LABELS, label_name, label_value
from monitor.core.models import Contract, Status, Verdict


def _ts(when: datetime | None) -> float:
    return when.timestamp() if when is not None else 0.0


# (name, type, help) of the per-contract families, in output order
_FAMILIES = (
    ("fresh_last_update_timestamp_seconds", "gauge", "Unix time of the newest data seen."),
    (
        "fresh_deadline_timestamp_seconds",
        "gauge",
        "When the contract turns warn / stale without new data (0 with no data).",
    ),
    ("fresh_threshold_seconds", "gauge", "The contract's warn_after / error_after."),
    ("fresh_status", "gauge", "1 for the contract's current status, 0 for the others."),
    ("fresh_last_check_timestamp_seconds", "gauge", "When the contract was last checked."),
    ("fresh_check_errors_total", "counter", "Failed source reads, per contract."),
    ("fresh_maintenance", "gauge", "1 while the contract is in a maintenance window."),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value))


CHUNK = 2000  # contracts whose lines are joined at once: no million small strings alive


def family_header(name: str, kind: str, doc: str) -> str:
    """The `# HELP` and `# TYPE` lines of one family."""
    family = name.removesuffix("_total") if kind == "counter" else name
    return f"# HELP {name} {doc}\n# TYPE {family} {kind}\n"


def contract_head(c: Contract, keys: Sequence[str]) -> str:
    """`{contract="…",owner="…",…` (open: each family adds its own labels and the `}`)."""
    names = [*BASE_LABELS, *(label_name(k) for k in keys)]
    values = contract_labels(c, keys)
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True))


_STATUS_TAILS = [(s, f',status="{s.value}"}} ') for s in Status]


def contract_lines(c: Contract, head: str, v: Verdict | None) -> tuple[str, str, str, str, str]:
    """One contract's lines of the five families its verdict decides (last update,
    deadline, threshold, status, last check; "" where it has none), from its `head`."""
    exp = c.expectation
    warn_after, error_after = exp.warn_after, exp.error_after
    if exp.learn is not None and v is not None:
        # SPEC 13: the learned limits at the last check, so a graph shows them move.
        warn_after = v.learned_warn_after or warn_after
        error_after = v.learned_error_after or error_after
    levels = [
        (lv, after)
        for lv, after in (("warn", warn_after), ("error", error_after))
        if after is not None
    ]
    n_update, n_deadline, n_threshold, n_status, n_checked = (f[0] for f in _FAMILIES[:5])
    threshold = "".join(
        f'{n_threshold}{head},level="{lv}"}} {_num(after.total_seconds())}\n'
        for lv, after in levels
    )
    if v is None:
        return "", "", threshold, "", ""  # not checked yet: no verdict to report
    update = ""
    if v.last_update is not None:
        update = f"{n_update}{head}}} {_num(v.last_update.timestamp())}\n"
    deadline = "".join(
        f'{n_deadline}{head},level="{lv}"}} {_num(_ts(at))}\n'
        for lv, at in (("warn", v.warn_at), ("error", v.error_at))
        if lv in dict(levels)
    )
    status = "".join(
        f"{n_status}{head}{tail}{'1.0' if v.status == st else '0.0'}\n"
        for st, tail in _STATUS_TAILS
    )
    checked = f"{n_checked}{head}}} {_num(v.checked_at.timestamp())}\n"
    return update, deadline, threshold, status, checked


def error_line(head: str, replica: str, errors: int) -> str:
    """The contract's `fresh_check_errors_total` line (this replica's count)."""
    return f'{_FAMILIES[5][0]}{head},replica="{_escape(replica)}"}} {_num(errors)}\n'


def maintenance_line(head: str, on: bool) -> str:
    """The contract's `fresh_maintenance` line."""
    return f"{_FAMILIES[6][0]}{head}}} {'1.0' if on else '0.0'}\n"


def contract_labels(c: Contract, metric_labels: Sequence[str]) -> list[str]:
    """The label values of a per-contract series, in `BASE_LABELS` + metric_labels order."""
    return [
        c.name,
        c.owner,
        c.warehouse,
        c.severity.value,
        *(label_value(c.metadata.get(k)) for k in metric_labels),
    ]


class _Entry(NamedTuple):
    """One contract's rendered lines, and what they were rendered from."""

    contract: Contract
    verdict: Verdict | None
    head: str
    errors: int
    maintenance: bool
    lines: tuple[bytes, ...]  # one per family of `_FAMILIES` (b"" where it has none)


class SeriesCache:
    """Each contract's lines between scrapes, rendered again only when what they show
    changed: its verdict, its error count, its maintenance window, or the configuration
    (`contracts` is the configured sequence, a new one after each reload).

    Entries are never changed in place, only replaced, so a scrape streaming from the
    entries it picked is not disturbed by another scrape refreshing them.
    """

    def __init__(self, replica: str) -> None:
        self._replica = replica
        self._lock = threading.Lock()
        self._for: tuple[Sequence[Contract] | None, tuple[str, ...]] = (None, ())
        self._entries: dict[str, _Entry] = {}

    def stream(
        self,
        contracts: Sequence[Contract],
        metric_labels: Sequence[str],
        chosen: Iterable[Contract],
        states: Mapping[str, Verdict],
        errors: Mapping[str, int],
        maintenance: Collection[str] = frozenset(),
    ) -> Iterator[bytes]:
        """The per-contract families of the `chosen` contracts (of the configured
        `contracts`), byte for byte what the uncached renderer made
        (tests/unit/metrics_reference.py)."""
        keys = tuple(dict.fromkeys(metric_labels))
        with self._lock:
            if self._for[0] is not contracts or self._for[1] != keys:
                self._for, self._entries = (contracts, keys), {}  # a reload: labels may differ
            picked = [self._entry(c, keys, states, errors, maintenance) for c in chosen]
        for f, (name, kind, doc) in enumerate(_FAMILIES):
            yield family_header(name, kind, doc).encode()
            for i in range(0, len(picked), CHUNK):
                yield b"".join([e.lines[f] for e in picked[i : i + CHUNK]])

    def _entry(
        self,
        c: Contract,
        keys: Sequence[str],
        states: Mapping[str, Verdict],
        errors: Mapping[str, int],
        maintenance: Collection[str],
    ) -> _Entry:
        v = states.get(c.name)
        n_errors, maint = errors.get(c.name, 0), c.name in maintenance
        old = self._entries.get(c.name)
        if old is not None and old.contract is c:
            if (old.verdict is v or old.verdict == v) and (
                old.errors == n_errors and old.maintenance == maint
            ):
                return old
            head = old.head
        else:
            head = contract_head(c, keys)
        lines = (
            *(x.encode() for x in contract_lines(c, head, v)),
            error_line(head, self._replica, n_errors).encode(),
            maintenance_line(head, maint).encode(),
        )
        new = self._entries[c.name] = _Entry(c, v, head, n_errors, maint, lines)
        return new
