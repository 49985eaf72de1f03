"""Prometheus metrics of a node, on a listener of their own (HANOINET_METRICS_PORT).

Read from the database at each scrape (services/operations.py ``gauges``): every server
process and worker of a node shares it, so one listener reports the node whatever the
number of processes, and a restart loses no count. Counts and ages only; labels are codes
(message types, statuses, audit actions, evidence states): no case content, no user name,
no request id. The listener is separate from the node's own port so that it can stay on
loopback or a monitoring network, never behind the public proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hanoinet.services import operations
from hanoinet.services.federation import NodeContext


class NodeCollector(Collector):
    def __init__(
        self,
        ctx: NodeContext,
        clock: Callable[[], datetime],
        alarm: timedelta,
        targets: dict[str, timedelta],
    ) -> None:
        self.ctx, self.clock, self.alarm, self.targets = ctx, clock, alarm, targets

    def collect(self) -> Iterator[Any]:
        now = self.clock()
        ready = operations.readiness(self.ctx, now=now, alarm=self.alarm)  # never raises
        up = GaugeMetricFamily("hanoinet_ready", "1 when every readiness check passes")
        up.add_metric([], 1.0 if ready.ready else 0.0)
        yield up
        checks = GaugeMetricFamily(
            "hanoinet_check_ok", "1 when a readiness check is ok or a warning", labels=["check"]
        )
        for c in ready.checks:
            checks.add_metric([c.name], 0.0 if c.status == "failed" else 1.0)
        yield checks
        try:
            g = operations.gauges(self.ctx, now=now, alarm=self.alarm, targets=self.targets)
        except Exception:  # the database is down: readiness above says so; no figures
            return
        outbox = GaugeMetricFamily(
            "hanoinet_outbox_messages", "Messages in the outbox by status", labels=["status"]
        )
        for status, n in sorted(g.outbox.items()):
            outbox.add_metric([status], n)
        yield outbox
        oldest = GaugeMetricFamily(
            "hanoinet_outbox_oldest_pending_seconds", "Age of the oldest message still pending"
        )
        oldest.add_metric([], g.outbox_oldest_seconds)
        yield oldest
        alarm = GaugeMetricFamily(
            "hanoinet_not_delivered_messages",
            "Messages pending longer than HANOINET_DELIVERY_ALARM_MINUTES (NOT DELIVERED)",
        )
        alarm.add_metric([], g.not_delivered)
        yield alarm
        received = CounterMetricFamily(
            "hanoinet_messages_received",
            "Messages received and verified, by type and status",
            labels=["type", "status"],
        )
        for (kind, status), n in sorted(g.inbox.items()):
            received.add_metric([kind, status], n)
        yield received
        evidence = GaugeMetricFamily(
            "hanoinet_evidence_packages",
            "Evidence packages by direction and state",
            labels=["direction", "state"],
        )
        for (direction, state), n in sorted(g.evidence.items()):
            evidence.add_metric([direction, state], n)
        yield evidence
        verifying = GaugeMetricFamily(
            "hanoinet_evidence_verifying_oldest_seconds",
            "Age of the evidence package waiting longest for this node's verification",
        )
        verifying.add_metric([], g.verifying_oldest_seconds)
        yield verifying
        unmoved = GaugeMetricFamily(
            "hanoinet_evidence_unmoved_oldest_seconds",
            "Time without a chunk acknowledged of the outgoing transfer unmoved longest",
        )
        unmoved.add_metric([], g.unmoved_oldest_seconds)
        yield unmoved
        events = CounterMetricFamily(
            "hanoinet_audit_events",
            "Audit entries an operator counts: log-ins and their failures, refusals, "
            "transfers, letters, backups",
            labels=["action"],
        )
        for action in operations.COUNTED:
            events.add_metric([action], g.audit.get(action, 0))
        yield events
        desk = GaugeMetricFamily(
            "hanoinet_desk_past_target",
            "Requests received, not acknowledged, past the 24/7 desk's target",
        )
        desk.add_metric([], g.desk_late)
        yield desk


def registry(
    ctx: NodeContext,
    clock: Callable[[], datetime],
    alarm: timedelta,
    targets: dict[str, timedelta],
) -> CollectorRegistry:
    found = CollectorRegistry()
    found.register(NodeCollector(ctx, clock, alarm, targets))
    return found


def serve(host: str, port: int, collected: CollectorRegistry) -> Any:
    """Serve ``/metrics`` on ``host:port`` in a daemon thread; the server, to shut down."""
    server, _thread = start_http_server(port, addr=host, registry=collected)
    return server
