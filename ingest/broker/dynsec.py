"""The broker's security file: Mosquitto's dynamic-security plugin configuration.

Why the plugin and not ``password_file`` + ``acl_file``: Mosquitto's ACL file is checked
when a message is published and delivered, never when a client subscribes. A registered
device that subscribed to ``$share/collectors/<root>/#`` was admitted to the collectors'
group, was handed its turn of the messages, and the broker then withheld them from it
for want of read access — so they reached nobody (measured on Mosquitto 2.0.11: 3 of 6
messages lost). The dynamic-security plugin, shipped with Mosquitto 2.x, checks
subscriptions too and refuses that one (reason code 135).

Secrets are stored as Mosquitto stores them in a password file: PBKDF2-HMAC-SHA512,
a 12-byte random salt, base64. Only hashes are written here; a secret is shown once,
when it is issued (:func:`provision`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.broker.accounts import Account

ITERATIONS = 101  # Mosquitto's own default; the secrets are random, not guessable words
SALT_BYTES = 12
CONFIG_NAME = "dynamic-security.json"


class BrokerConfigError(ValueError):
    """The existing security file cannot be read, or a request names no account."""


@dataclass(frozen=True, slots=True)
class Hashed:
    password: str  # base64 of the 64-byte PBKDF2 digest
    salt: str  # base64
    iterations: int = ITERATIONS

    def matches(self, secret: str) -> bool:
        digest = _pbkdf2(secret, base64.b64decode(self.salt), self.iterations)
        return secrets.compare_digest(base64.b64encode(digest).decode(), self.password)


def _pbkdf2(secret: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)


def hash_secret(secret: str) -> Hashed:
    salt = os.urandom(SALT_BYTES)
    digest = _pbkdf2(secret, salt, ITERATIONS)
    return Hashed(base64.b64encode(digest).decode(), base64.b64encode(salt).decode())


def new_secret() -> str:
    """32 random URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


@dataclass(slots=True)
class Provisioned:
    """The outcome of one provisioning: every account's hash, and what changed."""

    hashes: dict[str, Hashed]
    issued: list[tuple[Account, str]] = field(default_factory=list)  # new or rotated: secret
    kept: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def provision(
    wanted: list[Account],
    existing: dict[str, Hashed],
    rotate: set[str] | None = None,
    issued: Mapping[str, Hashed] | None = None,
) -> Provisioned:
    """Keep the hash of each account that has one; issue a secret to new and rotated ones.
    ``issued``: hashes of secrets issued elsewhere (the API's devices), taken as they are."""
    rotate = rotate or set()
    issued = issued or {}
    names = {a.username for a in wanted}
    if unknown := sorted(rotate - names):
        raise BrokerConfigError(f"--rotate names no account: {', '.join(unknown)}")
    if through_api := sorted(rotate & set(issued)):
        raise BrokerConfigError(
            f"{', '.join(through_api)}: registered through the API; issue a new secret there"
            " (POST /api/v1/devices/<id>/mqtt-secret)"
        )
    out = Provisioned(hashes={})
    for account in wanted:
        if account.username in issued:
            out.hashes[account.username] = issued[account.username]
            out.kept.append(account.username)
            continue
        kept = existing.get(account.username)
        if kept is not None and account.username not in rotate:
            out.hashes[account.username] = kept
            out.kept.append(account.username)
            continue
        secret = new_secret()
        out.hashes[account.username] = hash_secret(secret)
        out.issued.append((account, secret))
        if kept is not None:
            out.rotated.append(account.username)
    out.removed = sorted(set(existing) - names)
    return out


def read_hashes(path: Path) -> dict[str, Hashed]:
    """The accounts' hashes of an existing security file; nothing when there is none."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
        return {
            c["username"]: Hashed(c["password"], c["salt"], int(c["iterations"]))
            for c in data.get("clients", [])
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise BrokerConfigError(
            f"{path} is not a dynamic-security file written by envmon ({exc}); "
            "move it away to start over (every account then gets a new secret)"
        ) from None


def render(wanted: list[Account], hashes: dict[str, Hashed]) -> dict[str, Any]:
    """The plugin's configuration: deny by default, one role per account."""
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": [
            {
                "username": a.username,
                "textName": a.note,
                "password": hashes[a.username].password,
                "salt": hashes[a.username].salt,
                "iterations": hashes[a.username].iterations,
                "roles": [{"rolename": a.username}],
            }
            for a in wanted
        ],
        "groups": [],
        "roles": [
            {
                "rolename": a.username,
                "acls": [
                    {"acltype": acl.kind, "topic": acl.topic, "priority": 0, "allow": True}
                    for acl in a.acls
                ],
            }
            for a in wanted
        ],
    }


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` so that no other user can read it at any moment, atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    tmp.replace(path)
