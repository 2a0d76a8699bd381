"""Packets for the HJ 212 codec tests: the standard's example and Hypothesis strategies."""

from __future__ import annotations

from hypothesis import strategies as st

from ingest.hj212 import DataArea, Edition, Packet, make_flag

# HJ 212-2017 Appendix A: set the real-time data interval, acknowledgement required.
APPENDIX_A_SEGMENT = (
    b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    b"Flag=5;CP=&&RtdInterval=30&&"
)
APPENDIX_A = b"##0101" + APPENDIX_A_SEGMENT + b"1C80\r\n"

_SAFE = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    exclude_characters=";,&=\r\n",
)
# ASCII and the Chinese a logger puts in a data area (instrument state, site names)
_VALUE_CHARS = st.one_of(_SAFE, st.sampled_from("0123456789.-ND设备维护故障柳东污水厂"))
_values = st.text(_VALUE_CHARS, max_size=12)
_header = st.text(
    st.sampled_from("0123456789ABCDEFabcdef_-"),
    max_size=24,
)
_codes = st.sampled_from(
    ["w01018", "w21003", "w00000", "a34004", "a21026", "a05024", "SB1", "011", "060", "B01"]
)
_fields = st.sampled_from(["Rtd", "Avg", "Min", "Max", "Cou", "Flag", "EFlag", "SampleTime"])
_params = st.sampled_from(["DataTime", "RtdInterval", "BeginTime", "PolId", "QnRtn"])
_keys = st.one_of(st.builds(lambda c, f: f"{c}-{f}", _codes, _fields), _params)
_entry = st.tuples(_keys, _values)

data_areas = st.lists(st.lists(_entry, min_size=1, max_size=4), max_size=6).map(DataArea.build)


@st.composite
def flags(draw: st.DrawFn) -> int | None:
    choice = draw(st.sampled_from(["none", "edition", "any"]))
    if choice == "none":
        return None
    if choice == "any":
        return draw(st.integers(0, 255))
    edition = draw(st.sampled_from(list(Edition)))
    return make_flag(edition, ack=draw(st.booleans()), split=draw(st.booleans()))


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    split = draw(st.booleans())
    pnum = draw(st.integers(1, 9999)) if split else None
    pno = draw(st.integers(1, pnum)) if pnum is not None else None
    return Packet(
        st=draw(st.sampled_from(["21", "22", "31", "32", "91", "A0"])),
        cn=draw(st.sampled_from(["2011", "2051", "2061", "2031", "1013", "9014", "3020"])),
        cp=draw(data_areas),
        qn=draw(st.none() | st.from_regex(r"\A20[0-9]{15}\Z")),
        pw=draw(st.none() | _header),
        mn=draw(st.none() | _header),
        flag=draw(flags()),
        pnum=pnum,
        pno=pno,
    )
