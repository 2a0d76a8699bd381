"""Why a message was dead-lettered: the reason codes stored with it."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    BAD_TOPIC = "bad_topic"  # not <root>/<feed>/<device>/<kind>, or unknown feed/kind
    INVALID_JSON = "invalid_json"  # not a UTF-8 JSON object
    SCHEMA = "schema"  # missing/extra field, wrong JSON type (e.g. "12.5"), wrong schema version
    DUPLICATE_KEY = "duplicate_key"  # a JSON object names the same key twice
    NON_FINITE = "non_finite"  # NaN or ±Infinity in a number
    IMPOSSIBLE_VALUE = "impossible_value"  # outside the physically possible range
    UNKNOWN_DEVICE = "unknown_device"  # not in the registry (or retired)
    WRONG_KIND = "wrong_kind"  # the device's type does not publish this kind
    FUTURE_TIMESTAMP = "future_timestamp"  # device time too far ahead of the collector's clock
    TOO_OLD = "too_old"  # device time older than ENVMON_INGEST__MAX_AGE_DAYS
    DB_REJECTED = "db_rejected"  # valid to the contract but refused by the database
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # device and time stored with other values
