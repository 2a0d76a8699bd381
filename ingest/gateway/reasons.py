"""Why the gateway refused a well-framed packet (framing faults are the codec's ``Fault``)."""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    UNKNOWN_MN = "unknown_mn"  # no logger with this MN reports over HJ 212 (or no MN at all)
    UNKNOWN_SERIAL = "unknown_serial"  # a 1001 whose hardware serial and MN are not registered
    WRONG_PW = "wrong_pw"  # the PW is not the logger's
    WRONG_ST = "wrong_st"  # the ST is not the logger's system code
    UNKNOWN_CN = "unknown_cn"  # a command code the gateway does not serve
    BAD_TIME = "bad_time"  # an upload without a readable DataTime
    BAD_VALUE = "bad_value"  # a value of a mapped code is not a finite number
    NO_VALUES = "no_values"  # none of the upload's codes maps to a field of the readings
