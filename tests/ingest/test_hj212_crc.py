"""The CRC of HJ 212 Appendix A, and CRC-16/MODBUS beside it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingest.hj212 import CrcVariant, crc_hj212, crc_modbus, crc_text
from ingest.hj212.crc import matching_variant, parse_crc
from tests.ingest.hj212_cases import APPENDIX_A_SEGMENT


def appendix_a_as_written(data: bytes) -> int:
    """The standard's algorithm step by step: the register's low byte is replaced."""
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ byte
        for _ in range(8):
            carry = reg & 1
            reg >>= 1
            if carry:
                reg ^= 0xA001
    return reg


def test_check_values() -> None:
    assert crc_hj212(b"123456789") == 0x2F80
    assert crc_modbus(b"123456789") == 0x4B37


def test_the_standards_example_is_1c80_not_the_1c08_of_its_text() -> None:
    assert crc_hj212(APPENDIX_A_SEGMENT) == 0x1C80
    assert crc_text(APPENDIX_A_SEGMENT) == "1C80"


def test_a_9014_reply_matches_another_implementations_value() -> None:
    # the value xiaoyao9184/hj-t212-parser prints for this reply
    segment = (
        b"QN=20160801085000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
    )
    assert crc_text(segment) == "C241"


@given(st.binary(max_size=300))
def test_the_table_gives_the_algorithm_as_written(data: bytes) -> None:
    assert crc_hj212(data) == appendix_a_as_written(data)


@given(st.binary(min_size=1, max_size=300))
def test_only_256_check_values_exist(data: bytes) -> None:
    assert crc_hj212(data) & 0xFF in {0x00, 0x01, 0x40, 0x41, 0x80, 0x81, 0xC0, 0xC1}


def test_modbus_is_not_the_standards_crc() -> None:
    assert crc_text(APPENDIX_A_SEGMENT, CrcVariant.MODBUS) != "1C80"
    modbus = crc_text(APPENDIX_A_SEGMENT, CrcVariant.MODBUS)
    assert matching_variant(APPENDIX_A_SEGMENT, modbus) is CrcVariant.MODBUS
    assert matching_variant(APPENDIX_A_SEGMENT, "1c80") is CrcVariant.HJ212
    assert matching_variant(APPENDIX_A_SEGMENT, "1C08") is None


def test_crc_text_is_four_hex_digits_either_case() -> None:
    assert parse_crc("1c80") == parse_crc(b"1C80") == 0x1C80
    for bad in ("1C8", "1C800", "1G80", " 1C8", "\uff11C80"):
        assert parse_crc(bad) is None
