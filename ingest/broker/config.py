"""``envmon broker config``: the broker's security file written from the registry.

The security file itself is the state: an account that has a hash keeps it, so running
the command again after a registry change issues secrets only to the new accounts (and
to those named in ``rotate``), and removes the accounts no longer in the registry. The
secrets issued go to a provisioning CSV of their own, readable by its owner only, and
are kept nowhere else.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest.broker.accounts import AccountPlan, accounts
from ingest.broker.dynsec import (
    CONFIG_NAME,
    Hashed,
    Provisioned,
    provision,
    read_hashes,
    render,
    write_private,
)
from ingest.registry.model import Registry

CSV_FIELDS = ("username", "role", "feed", "secret", "may_publish")


@dataclass(frozen=True, slots=True)
class FromDatabase:
    """What the database adds: the devices registered through the API (id → feed) with
    the hashes of the secrets it issued them, and the devices retired."""

    added: dict[str, str]
    retired: set[str]
    issued: dict[str, Hashed]


@dataclass(frozen=True, slots=True)
class Written:
    config: Path
    credentials: Path | None  # None when no secret was issued
    outcome: Provisioned


def write_config(
    out_dir: Path,
    registry: Registry,
    plan: AccountPlan,
    *,
    now: datetime,
    rotate: set[str] | None = None,
    database: FromDatabase | None = None,
) -> Written:
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / CONFIG_NAME
    db = database or FromDatabase({}, set(), {})
    wanted = accounts(registry, plan, added=db.added, retired=db.retired)
    outcome = provision(wanted, read_hashes(config), rotate, db.issued)
    credentials = None
    if outcome.issued:
        # written first: a crash between the two files must not leave hashes nobody knows
        credentials = out_dir / f"credentials-{now:%Y%m%dT%H%M%SZ}.csv"
        write_private(credentials, _csv(outcome))
    write_private(config, json.dumps(render(wanted, outcome.hashes), indent=1) + "\n")
    return Written(config, credentials, outcome)


def _csv(outcome: Provisioned) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for account, secret in outcome.issued:
        publish = " ".join(a.topic for a in account.acls if a.kind == "publishClientSend")
        writer.writerow((account.username, account.role, account.feed or "", secret, publish))
    return buf.getvalue()
