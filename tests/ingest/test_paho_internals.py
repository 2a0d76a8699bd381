"""The paho internals of ingest/mqtt.py's fast paths are checked, and named when missing."""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest

from ingest.mqtt import PahoInternalsError, check_paho_internals


def test_the_installed_paho_has_every_internal() -> None:
    check_paho_internals()


def test_a_missing_method_is_named() -> None:
    class Stripped(paho.Client):
        _packet_queue = None  # type: ignore[assignment]

    with pytest.raises(PahoInternalsError, match=r"Client\._packet_queue\(command, packet"):
        check_paho_internals(Stripped)


def test_a_changed_signature_is_named() -> None:
    class Changed(paho.Client):
        def _packet_queue(self, _packet: bytes, _command: int) -> None:  # type: ignore[override]
            raise AssertionError("never called")

    with pytest.raises(PahoInternalsError) as info:
        check_paho_internals(Changed)
    assert info.value.missing == ["Client._packet_queue(command, packet, mid, qos)"]
    assert "pinned in pyproject.toml" in str(info.value)
