"""Who may connect to the broker and what each may do, derived from the registry.

Every account is denied everything by default; what it may do is listed here:

- a **device** publishes only under ``<root>/<feed>/<its id>/<kind>``, and subscribes to
  nothing;
- a **collector** subscribes to the feed, shared (``$share/<group>/<root>/#``) or not,
  and receives it;
- the **HJ 212 gateway** publishes for the loggers it serves and its own dead letters;
- a **simulator** (only when asked for: demos and tests) publishes as any device.

Nobody reads ``$SYS`` or may change the broker's security (``$CONTROL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ingest.edge import DEAD_KIND, EDGE_FEED
from ingest.registry.model import Registry
from ingest.topics import DEFAULT_ROOT, topic_for

Role = Literal["device", "collector", "gateway", "simulator"]
AclType = Literal["publishClientSend", "publishClientReceive", "subscribePattern"]

COLLECTOR_USER = "envmon-collector"
GATEWAY_USER = "envmon-hj212-gateway"
SIMULATOR_USER = "envmon-simulator"


@dataclass(frozen=True, slots=True)
class Acl:
    kind: AclType
    topic: str


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: Role
    acls: tuple[Acl, ...]
    feed: str | None = None  # devices only
    note: str = ""


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """What the broker must know: the accounts, for one topic root and shared group."""

    root: str = DEFAULT_ROOT
    shared_group: str | None = "collectors"
    gateway_id: str = "hj212-gateway"
    simulator: bool = False


def accounts(registry: Registry, plan: AccountPlan | None = None) -> list[Account]:
    """Every account of the district: devices that publish over MQTT, the services."""
    plan = plan or AccountPlan()
    root = plan.root
    hj212 = {site.id for _, site in registry.hj212_sites()}
    out = [
        Account(
            d.device_id,
            "device",
            (Acl("publishClientSend", topic_for(d.feed, d.device_id, "+", root)),),
            feed=d.feed,
            note=f"{d.feed} {d.device_type}",
        )
        for d in registry.devices()
        if d.device_id not in hj212
    ]
    subscribe = [Acl("subscribePattern", f"{root}/#")]
    if plan.shared_group:
        subscribe.append(Acl("subscribePattern", f"$share/{plan.shared_group}/{root}/#"))
    out.append(
        Account(
            COLLECTOR_USER,
            "collector",
            (*subscribe, Acl("publishClientReceive", f"{root}/#")),
            note="collectors: subscribe to the feed and receive it",
        )
    )
    if hj212:
        feeds = {site.id: feed for feed, site in registry.hj212_sites()}
        dead_letters = topic_for(EDGE_FEED, plan.gateway_id, DEAD_KIND, root)
        out.append(
            Account(
                GATEWAY_USER,
                "gateway",
                (
                    *(
                        Acl("publishClientSend", topic_for(feeds[i], i, "+", root))
                        for i in sorted(hj212)
                    ),
                    Acl("publishClientSend", dead_letters),
                ),
                note=f"HJ 212 gateway: publishes for {len(hj212)} data loggers",
            )
        )
    if plan.simulator:
        out.append(
            Account(
                SIMULATOR_USER,
                "simulator",
                (Acl("publishClientSend", f"{root}/#"),),
                note="simulators: publish as any device (demos and tests only)",
            )
        )
    return out
