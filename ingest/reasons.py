"""Why a message was dead-lettered: the reason codes stored with it."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    BAD_TOPIC = "bad_topic"  # not <root>/<feed>/<device>/<kind>, or unknown feed/kind
    INVALID_JSON = "invalid_json"  # not a UTF-8 JSON object
    SCHEMA = "schema"  # missing/extra field, wrong type, wrong schema version
    NON_FINITE = "non_finite"  # NaN or ±Infinity in a number
    IMPOSSIBLE_VALUE = "impossible_value"  # outside the physically possible range
    UNKNOWN_DEVICE = "unknown_device"  # not in the registry (or retired)
    WRONG_KIND = "wrong_kind"  # the device's type does not publish this kind
    FUTURE_TIMESTAMP = "future_timestamp"  # device time too far ahead of the collector's clock
    DB_REJECTED = "db_rejected"  # valid to the contract but refused by the database
