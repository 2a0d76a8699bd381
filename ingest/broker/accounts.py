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

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
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


def _device(device_id: str, feed: str, root: str, note: str) -> Account:
    acl = Acl("publishClientSend", topic_for(feed, device_id, "+", root))
    return Account(device_id, "device", (acl,), feed=feed, note=note)


def accounts(
    registry: Registry,
    plan: AccountPlan | None = None,
    *,
    added: Mapping[str, str] | None = None,
    retired: AbstractSet[str] = frozenset(),
) -> list[Account]:
    """Every account of the district: devices that publish over MQTT (the registry's, and
    ``added``: device id → feed, registered through the API; none of ``retired``), and the
    services."""
    plan = plan or AccountPlan()
    root = plan.root
    hj212 = {site.id for _, site in registry.hj212_sites()}
    out = [
        _device(d.device_id, d.feed, root, f"{d.feed} {d.device_type}")
        for d in registry.devices()
        if d.device_id not in hj212 and d.device_id not in retired
    ]
    known = {a.username for a in out} | hj212
    out += [
        _device(i, feed, root, f"{feed} device registered through the API")
        for i, feed in sorted((added or {}).items())
        if i not in known and i not in retired
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
