"""``envmon hj212 parse``: packets one a line in, one JSON object a line out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ingest.hj212 import CrcVariant, encode_frame
from tests.ingest.hj212_cases import APPENDIX_A, APPENDIX_A_SEGMENT

KEYS = {"ok", "crc_ok", "crc_variant", "length_ok", "edition", "qn", "st", "cn", "mn", "flag"}
LEGACY = encode_frame(
    b"ST=32;CN=2011;PW=123456;MN=88888880000001;"
    b"CP=&&DataTime=20040516020111;011-Rtd=50.5,011-Flag=N;B01-Rtd=30.2&&"
)


def parse(*args: str, stdin: bytes = b"") -> tuple[int, list[dict[str, Any]], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}
    done = subprocess.run(
        [sys.executable, "-m", "envmon", "hj212", "parse", *args],
        input=stdin,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    return done.returncode, lines, done.stderr.decode()


def test_the_standards_example_parses() -> None:
    code, out, err = parse(stdin=APPENDIX_A)
    assert code == 0, err
    [line] = out
    assert KEYS | {"cp", "error"} <= set(line)
    assert line["ok"] is True
    assert (line["crc_ok"], line["crc_variant"], line["length_ok"]) == (True, "hj212", True)
    assert (line["edition"], line["qn"], line["st"], line["cn"]) == (
        "2017",
        "20160801085857223",
        "32",
        "1062",
    )
    assert (line["mn"], line["flag"], line["error"]) == ("010000A8900016F000169DC0", 5, None)
    assert line["cp"] == {"RtdInterval": "30"}


def test_a_bad_line_fails_the_run_and_each_line_gets_its_verdict(tmp_path: Path) -> None:
    modbus = encode_frame(APPENDIX_A_SEGMENT, CrcVariant.MODBUS)
    typo = APPENDIX_A.replace(b"1C80", b"1C08")
    file = tmp_path / "capture.txt"
    file.write_bytes(APPENDIX_A + modbus[:-2] + b"\n" + typo + b"\r\n" + LEGACY + b"garbage\n")
    code, out, err = parse(str(file))
    assert code == 1, err
    assert [line["ok"] for line in out] == [True, False, False, True, False]
    assert (out[1]["crc_ok"], out[1]["crc_variant"], out[1]["error"]) == (
        False,
        "modbus",
        "bad_crc",
    )
    assert (out[2]["crc_ok"], out[2]["crc_variant"]) == (False, None)
    assert out[3]["edition"] == "2005"
    assert out[3]["cp"]["w01018"] == {"Rtd": "50.5", "Flag": "N"}
    assert out[3]["cp"]["w00000"] == {"Rtd": "30.2"}
    assert out[3]["data_time"] == "2004-05-16T02:01:11+08:00"
    assert out[4]["error"] == "bad_header"


def test_modbus_devices_are_checked_with_crc_modbus() -> None:
    modbus = encode_frame(APPENDIX_A_SEGMENT, CrcVariant.MODBUS)
    code, out, _ = parse("--crc", "modbus", stdin=modbus)
    assert code == 0
    assert (out[0]["ok"], out[0]["crc_ok"], out[0]["crc_variant"]) == (True, False, "modbus")


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, out, err = parse(str(tmp_path / "nothing.txt"))
    assert code == 2
    assert out == []
    assert "cannot read" in err
