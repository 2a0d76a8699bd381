"""The server markers are derived from the fixtures a test uses."""

from __future__ import annotations

import pytest

from tests.fixtures.servers import Database


def test_a_database_fixture_marks_the_test(
    request: pytest.FixtureRequest, database: Database
) -> None:
    assert request.node.get_closest_marker("database") is not None
    assert request.node.get_closest_marker("broker") is None


def test_a_test_without_servers_is_unmarked(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("database") is None
    assert request.node.get_closest_marker("broker") is None
