"""The compose stack read by a parser, as no container engine runs here: every service of
the system, each command one envmon knows, healthchecks behind the dependencies, secrets
only from the env file, and the broker's configuration matching the files it mounts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from envmon.cli import build_parser
from ingest.production import is_placeholder

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SERVICES = {"broker", "db", "migrate", "collector-1", "collector-2", "rules", "api", "hj212",
            "grafana"}  # fmt: skip
HEALTHCHECKED = {"broker", "db", "api", "grafana"}
_SECRET_NAME = re.compile(r"(?i)password|secret|token")
_REQUIRED_VAR = re.compile(r"\$\{([A-Z_]+):\?[^}]*\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return data


def test_the_stack_runs_every_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES


def test_each_command_is_one_envmon_knows(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name, svc in compose["services"].items():
        command = svc.get("command")
        if command and command[0] == "envmon":
            args = parser.parse_args(command[1:])
            assert callable(args.func), name


def test_dependencies_wait_for_health_and_migrations(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in HEALTHCHECKED:
        assert services[name]["healthcheck"]["test"], name
    for name, svc in services.items():
        for dep, cond in svc.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dep == "migrate" else "service_healthy"
            assert cond == {"condition": expected}, (name, dep)
        if svc.get("command", [None])[0] == "envmon" and name != "migrate":
            assert "migrate" in svc["depends_on"], name
        assert svc["restart"] == ("no" if name == "migrate" else "unless-stopped"), name


def test_secrets_come_only_from_the_env_file(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose.yaml").read_text("utf-8")
    required = set(_REQUIRED_VAR.findall(text))
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "env.example").read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert required == set(example)  # the example names every secret the stack needs
    assert all(is_placeholder(v) for v in example.values())  # and production refuses them
    for name, svc in compose["services"].items():
        env = svc.get("environment", {})
        for key, value in env.items():
            if _SECRET_NAME.search(key) or "://" in str(value):
                assert "${" in str(value) or not _SECRET_NAME.search(str(value)), (name, key)
            if isinstance(value, str) and "@" in value and "://" in value:
                assert re.search(r":\$\{[A-Z_]+:\?", value), (name, key)  # URL passwords too
        if svc.get("command", [None])[0] == "envmon":
            assert env["ENVMON_ENVIRONMENT"] == "production", name
    assert (DEPLOY.parent / ".gitignore").read_text("utf-8").count("deploy/.env") == 1


def test_only_the_tls_listener_faces_the_network(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["broker"]["ports"] == ["8883:8883"]
    assert all(p.startswith("127.0.0.1:") for p in services["db"]["ports"])


def test_the_broker_configuration_matches_what_the_stack_mounts(compose: dict[str, Any]) -> None:
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text("utf-8")
    directive = dict(
        line.split(None, 1) for line in conf.splitlines() if line and not line.startswith("#")
        and not line.startswith("listener")
    )  # fmt: skip
    assert directive["allow_anonymous"] == "false"
    mounts = {m.split(":")[1]: m.split(":")[0] for m in compose["services"]["broker"]["volumes"]}
    data_dir = directive["persistence_location"].rstrip("/")
    assert data_dir in mounts
    assert mounts[data_dir] == "mosquitto-data"  # a volume of its own, writable
    for key in ("plugin_opt_config_file", "cafile", "certfile", "keyfile"):
        assert any(directive[key].startswith(target + "/") for target in mounts), key
    for source in mounts.values():
        if source.startswith("./") and not source.endswith(("/auth", "/tls")):
            assert (DEPLOY / source).exists(), source  # auth/ and tls/ are the deployment's


def test_the_image_runs_as_a_user_with_pinned_dependencies() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    users = re.findall(r"(?m)^USER\s+(\S+)", dockerfile)
    assert users
    assert users[-1] not in {"root", "0"}
    assert re.search(r"pip install .*-c deploy/constraints\.txt", dockerfile)
    lines = (DEPLOY / "constraints.txt").read_text("utf-8").splitlines()
    pins = [p for p in lines if p and not p.startswith("#")]
    assert any(p.startswith("fastapi==") for p in pins)
    assert all("==" in p for p in pins)
