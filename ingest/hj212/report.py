"""A decoded packet as one JSON-ready object (``envmon hj212 parse``, gateway logs)."""

from __future__ import annotations

from typing import Any

from ingest.hj212.clock import CST, parse_time
from ingest.hj212.packet import Decoded


def describe(decoded: Decoded) -> dict[str, Any]:
    """Verdicts, header fields and the data area of ``decoded``; PW is left out.

    ``cp`` holds the parameters (``DataTime`` as given) and the items keyed by their
    HJ 212-2017 code with their fields; ``legacy_codes`` says which came as 2005 codes.
    ``data_time`` is DataTime read as China Standard Time, ISO 8601 with its offset (or
    ``data_time_error`` says why it could not be read).
    """
    p = decoded.packet
    out: dict[str, Any] = {
        "ok": decoded.ok,
        "crc_ok": decoded.crc_ok,
        "crc_variant": decoded.crc_variant,
        "length_ok": decoded.length_ok,
        "encrypted": decoded.encrypted,
        "edition": p.edition if p else None,
        "qn": p.qn if p else None,
        "st": p.st if p else None,
        "cn": p.cn if p else None,
        "mn": decoded.mn,
        "flag": p.flag if p else None,
        "ack_required": p.ack_required if p else None,
        "pnum": p.pnum if p else None,
        "pno": p.pno if p else None,
        "cp": None,
        "legacy_codes": None,
        "data_time": None,
        "data_time_error": None,
        "error": decoded.error,
        "detail": decoded.detail,
    }
    if p is not None:
        out["cp"] = {**p.cp.params, **p.cp.items}
        out["legacy_codes"] = p.cp.legacy_codes or None
        if p.cp.data_time is not None:
            at = parse_time(p.cp.data_time)
            out["data_time"] = at.at.astimezone(CST).isoformat() if at.at else None
            out["data_time_error"] = at.error
    return out
