"""The data area ``CP=&&…&&``: items separated by ``;``, the values of one item by ``,``.

Each entry is ``key=value``. A key with a dash is ``<code>-<field>`` (``w01018-Rtd``,
``SB1-RS``); one without is a parameter of the packet (``DataTime``, ``RtdInterval``,
``QnRtn``, ``BeginTime``). Values stay the text that was sent (``12.30`` is not ``12.3``):
converting and judging them is the gateway's business.

A :class:`DataArea` keeps the text exactly as received, so a decoded packet encodes back to
the same bytes; the views (:attr:`~DataArea.items`, :attr:`~DataArea.params`) are computed
from its entries. Empty items (a trailing ``;``, which loggers send) are tolerated and
skipped.

Legacy loggers (HJ/T 212-2005) name pollutants by the old codes (``011`` COD, ``060``
NH3-N, ``B01`` flow); :attr:`~DataArea.items` keys them by the HJ 212-2017 code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ingest.hj212.reasons import EncodeError, Fault

Entry = tuple[str, str]
Item = tuple[Entry, ...]

# HJ/T 212-2005 code → HJ 212-2017 code (HJ 212-2017 Appendix B, old codes in brackets).
# "02" (air SO2) and "002" (water colour) are distinct codes, as sent.
LEGACY_CODES: Mapping[str, str] = {
    "B01": "w00000",  # wastewater flow
    "001": "w01001",  # pH
    "002": "w01002",  # colour
    "003": "w01012",  # suspended solids
    "010": "w01017",  # BOD5
    "011": "w01018",  # COD(Cr)
    "550": "w02003",  # fecal coliforms
    "520": "w19002",  # anionic surfactant (LAS)
    "065": "w21001",  # total nitrogen
    "060": "w21003",  # ammonia nitrogen
    "101": "w21011",  # total phosphorus
    "080": "w22001",  # petroleum
    "B02": "a00000",  # flue-gas flow
    "02": "a21026",  # SO2
    "04": "a21005",  # CO
}

_FORBIDDEN_KEY = frozenset(";,=&\r\n")
_FORBIDDEN_VALUE = frozenset(";,&\r\n")


def standard_code(code: str) -> str:
    """The HJ 212-2017 code for ``code``: mapped when it is a 2005 code, else unchanged."""
    return LEGACY_CODES.get(code, code)


def split_key(key: str) -> tuple[str | None, str]:
    """``"w01018-Rtd"`` → ``("w01018", "Rtd")``; ``"DataTime"`` → ``(None, "DataTime")``."""
    code, dash, field = key.rpartition("-")
    return (code, field) if dash and code else (None, key)


@dataclass(frozen=True, slots=True)
class DataArea:
    """The data area: ``text`` as between the ``&&`` marks, and its entries item by item.

    Build one with :meth:`parse` (received text), :meth:`build` (entries) or :meth:`of`
    (parameters and pollutant items), never by hand, so that the two agree.
    """

    text: str
    items_raw: tuple[Item, ...]

    @classmethod
    def parse(cls, text: str) -> DataArea | str:
        """The data area of ``text``, or what is wrong with it (for ``bad_cp``)."""
        items: list[Item] = []
        for part in text.split(";"):
            entries: list[Entry] = []
            for entry in part.split(","):
                if not entry:
                    continue
                key, eq, value = entry.partition("=")
                if not eq or not key:
                    return f"entry {entry[:40]!r} is not key=value"
                entries.append((key, value))
            if entries:
                items.append(tuple(entries))
        return cls(text, tuple(items))

    @classmethod
    def build(cls, items: Iterable[Iterable[Entry]]) -> DataArea:
        """A data area from entries, item by item; raises :class:`EncodeError` on bad text."""
        checked: list[Item] = []
        for item in items:
            entries = tuple(item)
            for key, value in entries:
                if not key or _FORBIDDEN_KEY.intersection(key):
                    raise EncodeError(Fault.BAD_CP, f"data-area key {key!r} cannot be sent")
                if _FORBIDDEN_VALUE.intersection(value):
                    raise EncodeError(Fault.BAD_CP, f"value of {key} {value!r} cannot be sent")
            if entries:
                checked.append(entries)
        text = ";".join(",".join(f"{k}={v}" for k, v in item) for item in checked)
        return cls(text, tuple(checked))

    @classmethod
    def of(
        cls,
        params: Mapping[str, str] | None = None,
        items: Mapping[str, Mapping[str, str]] | None = None,
    ) -> DataArea:
        """Parameters (``DataTime`` …) each an item, then one item per pollutant code.

        ``DataArea.of({"DataTime": "20260601100000"}, {"w01018": {"Rtd": "20.1",
        "Flag": "N"}})`` is ``DataTime=20260601100000;w01018-Rtd=20.1,w01018-Flag=N``.
        """
        groups: list[list[Entry]] = [[(k, v)] for k, v in (params or {}).items()]
        for code, fields in (items or {}).items():
            groups.append([(f"{code}-{f}", v) for f, v in fields.items()])
        return cls.build(groups)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(e for item in self.items_raw for e in item)

    def get(self, key: str) -> str | None:
        """The first value sent under ``key`` (a parameter such as ``DataTime``)."""
        for k, v in self.entries:
            if k == key:
                return v
        return None

    @property
    def data_time(self) -> str | None:
        return self.get("DataTime")

    @property
    def params(self) -> dict[str, str]:
        """The entries without a pollutant code, in order (a repeated key: the last wins)."""
        return {k: v for k, v in self.entries if split_key(k)[0] is None}

    @property
    def items(self) -> dict[str, dict[str, str]]:
        """Fields by pollutant (or facility) code, 2005 codes mapped to 2017 ones."""
        out: dict[str, dict[str, str]] = {}
        for key, value in self.entries:
            code, field = split_key(key)
            if code is not None:
                out.setdefault(standard_code(code), {})[field] = value
        return out

    @property
    def legacy_codes(self) -> dict[str, str]:
        """For each 2005 code sent: its 2017 code → the code as sent."""
        out: dict[str, str] = {}
        for key, _ in self.entries:
            code, _field = split_key(key)
            if code is not None and code in LEGACY_CODES:
                out[LEGACY_CODES[code]] = code
        return out
