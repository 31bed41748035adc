"""The Prometheus metrics of SPEC section 6.

Per-contract series are written at scrape time from the store's current state, straight
into the Prometheus text format (metrics_text.py: each contract's lines are cached as bytes
and rendered again only when its verdict changed), so every replica serves the same values
and none carries a `replica` label. What this process did (reads timed, read errors,
notifications, its own reload state, process metrics) is counted here and labelled with
`replica`. Every `ServiceMetrics` has its own registry: nothing global, so tests each get
a clean one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from monitor.core.labels import BASE_LABELS, label_name, label_value
from monitor.core.models import Contract, Verdict
from monitor.serve.metrics_text import SeriesCache
from monitor.serve.scheduler import release_memory
from monitor.sources import cost

__all__ = [
    "BASE_LABELS",
    "CONTENT_TYPE",
    "SCOPES",
    "ServiceMetrics",
    "label_name",
    "label_value",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SCOPES = ("all", "held")  # what `/metrics?scope=` accepts
READ_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ReplicaCollector(Collector):
    """Wraps a collector of this process's series and adds the `replica` label to each."""

    def __init__(self, inner: Collector, replica: str) -> None:
        self._inner = inner
        self._replica = replica

    def collect(self) -> Iterator[Metric]:
        for metric in self._inner.collect():
            for sample in metric.samples:
                sample.labels["replica"] = self._replica
            yield metric


class _NoRegistry(CollectorRegistry):
    """Lets the stock process collectors be built without registering anywhere."""

    def register(self, collector: Collector) -> None:
        return None


class ServiceMetrics:
    """Everything `/metrics` shows, with an explicit registry.

    The scheduler calls `observe_read` / `count_error`; the alerts call
    `count_notification`; the service sets `reload_successful` and wires the state getters.
    """

    def __init__(
        self,
        replica: str,
        version: str,
        contracts: Callable[[], Sequence[Contract]] = tuple,
        metric_labels: Callable[[], Sequence[str]] = tuple,
        states: Callable[[], Mapping[str, Verdict]] = dict,
        outbox_size: Callable[[], int] | None = None,
        maintenance: Callable[[], Collection[str]] = frozenset,
        held: Callable[[], Collection[str] | None] = lambda: None,
        states_of: Callable[[Sequence[str]], Mapping[str, Verdict]] | None = None,
    ) -> None:
        self.replica = replica
        self.version = version
        self.registry = CollectorRegistry(auto_describe=False)
        self.reload_successful = True
        self._outbox_size = outbox_size
        self._contracts = contracts
        self._metric_labels = metric_labels
        self._states = states
        self._maintenance = maintenance  # names of the contracts in a maintenance window
        self._held = held  # names this replica holds a lease on; None: it checks them all
        self._states_of = states_of  # the verdicts of some contracts only (scope=held)
        self._series = SeriesCache(replica)
        self._errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._durations = Histogram(
            "fresh_check_duration_seconds",
            "Time of a source read.",
            ["warehouse", "replica"],
            buckets=READ_BUCKETS,
            registry=self.registry,
        )
        self._notifications = Counter(
            "fresh_notifications",
            "Alert deliveries, by owner and result (sent or failed).",
            ["owner", "result", "replica"],
            registry=self.registry,
        )
        self._lineage = Counter(
            "fresh_lineage_events",
            "OpenLineage events received, by result (stored, ignored or refused).",
            ["result", "replica"],
            registry=self.registry,
        )
        self.registry.register(_ProcessState(self))
        quiet = _NoRegistry()
        for inner in (
            ProcessCollector(registry=quiet),
            PlatformCollector(registry=quiet),
            GCCollector(registry=quiet),
        ):
            self.registry.register(ReplicaCollector(inner, replica))

    def observe_read(self, warehouse: str, seconds: float) -> None:
        """Record the duration of one source read."""
        self._durations.labels(warehouse, self.replica).observe(max(0.0, seconds))

    def count_error(self, contract: str) -> None:
        """Count one failed source read of `contract`."""
        with self._lock:
            self._errors[contract] = self._errors.get(contract, 0) + 1

    def count_notification(self, owner: str, result: str) -> None:
        """Count one alert delivery; `result` is `sent` or `failed`."""
        if result not in ("sent", "failed"):
            raise ValueError(f"result must be sent or failed, not {result!r}")
        self._notifications.labels(owner, result, self.replica).inc()

    def count_lineage(self, result: str, n: int = 1) -> None:
        """Count OpenLineage events: `stored`, `ignored` or `refused` (SPEC 12)."""
        if result not in ("stored", "ignored", "refused"):
            raise ValueError(f"result must be stored, ignored or refused, not {result!r}")
        if n:
            self._lineage.labels(result, self.replica).inc(n)

    def forget(self, names: Iterable[str]) -> None:
        """Drop the error counts of contracts removed from the configuration."""
        with self._lock:
            for n in names:
                self._errors.pop(n, None)

    def errors(self) -> dict[str, int]:
        """Failed reads per contract so far (a copy)."""
        with self._lock:
            return dict(self._errors)

    def outbox_size(self) -> int | None:
        """Messages waiting in the outbox, or None when it cannot be read."""
        if self._outbox_size is None:
            return 0
        try:
            return self._outbox_size()
        except Exception:
            return None

    def render(self, scope: str = "all") -> bytes:
        """The Prometheus text exposition of every series, built now from current state.

        `scope="held"` keeps, of the per-contract series, those of the contracts this
        replica holds a lease on (all of them when it is the only replica)."""
        return b"".join(self.stream(scope))

    def stream(self, scope: str = "all") -> Iterator[bytes]:
        """`render`'s bytes in pieces, for a streamed response: a scrape of 100,000
        contracts never holds its 140 MB as one string and one bytes object at once.
        The state is read when the first piece is asked for."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        return self._stream(scope)

    def _stream(self, scope: str) -> Iterator[bytes]:
        contracts = self._contracts()
        keys = tuple(self._metric_labels())
        held = self._held() if scope == "held" else None
        if held is None:
            chosen: Sequence[Contract] = contracts
            states = self._states()
        else:
            chosen = [c for c in contracts if c.name in held]
            # Only the rows served: the scrape's cost follows this replica's share.
            names = [c.name for c in chosen]
            states = self._states_of(names) if self._states_of is not None else self._states()
        pieces = self._series.stream(
            contracts, keys, chosen, states, self.errors(), self._maintenance()
        )
        del states
        yield from pieces
        yield generate_latest(self.registry)
        release_memory()  # the verdicts read for 100,000 contracts: ~100 MB

    def contracts(self) -> Sequence[Contract]:
        """The contracts currently configured."""
        return self._contracts()

    def metric_labels(self) -> Sequence[str]:
        """The metadata keys promoted to labels."""
        return self._metric_labels()


class _ProcessState(Collector):
    """This replica's own gauges and the per-contract error counter."""

    def __init__(self, m: ServiceMetrics) -> None:
        self._m = m

    def collect(self) -> Iterator[Metric]:
        m, r = self._m, self._m.replica
        reload = GaugeMetricFamily(
            "fresh_config_last_reload_successful",
            "1 when the last configuration reload was accepted.",
            labels=["replica"],
        )
        reload.add_metric([r], 1.0 if m.reload_successful else 0.0)
        yield reload
        size = m.outbox_size()
        if size is not None:
            outbox = GaugeMetricFamily(
                "fresh_outbox_messages", "Alerts waiting for delivery.", labels=["replica"]
            )
            outbox.add_metric([r], float(size))
            yield outbox
        sent = CounterMetricFamily(
            "fresh_warehouse_statements",
            "Statements sent to each warehouse, session set-up included (what fresh costs).",
            labels=["warehouse", "replica"],
        )
        for warehouse, n in sorted(cost.statements().items()):
            sent.add_metric([warehouse, r], float(n))
        yield sent
        info = GaugeMetricFamily("fresh_build_info", "Always 1.", labels=["version", "replica"])
        info.add_metric([m.version, r], 1.0)
        yield info
