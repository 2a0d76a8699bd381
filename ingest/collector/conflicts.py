"""A second message for a device and time already stored, with other values.

``ON CONFLICT DO NOTHING`` keeps the first row, which is right for a redelivered message;
but a message that differs from the stored row is not a redelivery, and letting it vanish
as a duplicate would hide a device that rewrites its history, or two devices sharing an
id. Such a message is dead-lettered as ``conflicting_duplicate``: its payload is kept, and
the detail names each differing field with the stored value and the new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg.rows import TupleRow

from ingest.collector.decode import MAX_DETAIL, Accepted, Rejected
from ingest.feeds import Kind
from ingest.reasons import Reason

if TYPE_CHECKING:
    import psycopg

    from ingest.collector.inbound import Inbound


def conflicts(
    cur: psycopg.Cursor[TupleRow], kind: Kind, stage: sql.Identifier, items: list[Inbound]
) -> list[tuple[Inbound, Rejected]]:
    """The items of a batch (copied into ``stage``) whose device and time are stored with
    other values. Runs only for a batch that had duplicates; the batch's own new rows are
    among those read back, and match themselves."""
    accepted = [(i, i.result) for i in items if isinstance(i.result, Accepted)]
    stamps = [a.ts for _, a in accepted]
    names = ("device_id", "ts", *kind.columns, "flags")
    cur.execute(
        sql.SQL(
            "SELECT {} FROM {} WHERE ts BETWEEN %s AND %s"
            " AND (device_id, ts) IN (SELECT device_id, ts FROM {})"
        ).format(
            sql.SQL(", ").join(sql.Identifier(n) for n in names),
            sql.Identifier(kind.table),
            stage,
        ),
        (min(stamps), max(stamps)),
    )
    stored = {(row[0], row[1]): row[2:] for row in cur.fetchall()}
    out: list[tuple[Inbound, Rejected]] = []
    for item, a in accepted:
        row = stored.get((a.device_id, a.ts))
        if row is None:
            continue
        differ = _differences(kind, row, (*a.values, a.flags))
        if differ:
            detail = f"{a.device_id} at {a.ts.isoformat()} is stored with other values: {differ}"
            out.append(
                (
                    item,
                    Rejected(
                        Reason.CONFLICTING_DUPLICATE,
                        detail[:MAX_DETAIL],
                        a.device_id,
                        kind.feed,
                        a.ts,
                    ),
                )
            )
    return out


def _differences(kind: Kind, stored: tuple[Any, ...], new: tuple[Any, ...]) -> str:
    names = (*kind.columns, "flags")
    return "; ".join(
        f"{n} stored {old!r}, this message {value!r}"
        for n, old, value in zip(names, stored, new, strict=True)
        if old != value
    )
