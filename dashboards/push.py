"""``envmon dashboards push``: the folder, the datasource and the dashboards, upserted by uid.

Idempotent: a second push changes nothing but the dashboards' versions. The datasource is
Grafana's PostgreSQL datasource; Grafana queries tables unqualified, so its database user
must have the project's schema on its ``search_path`` (``deploy/postgres/grafana-reader.sql``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import niquests
from grafana_client.api import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaUnauthorizedError,
)

from dashboards.build import FOLDER_TITLE, FOLDER_UID, rendered
from dashboards.sql import DATASOURCE_TYPE, DATASOURCE_UID
from ingest.secrets import mask_url, mask_urls

log = logging.getLogger(__name__)
# The datasource type id grafana-postgresql-datasource exists from Grafana 10.
MIN_MAJOR = 10
NOT_FOUND = 404


class PushError(RuntimeError):
    """What stopped a push, said so an operator can act on it."""


@dataclass
class PushReport:
    version: str
    folder: str = ""
    datasource: str = "left alone"
    dashboards: dict[str, str] = field(default_factory=dict)


def datasource_body(db_url: str, *, timescaledb: bool = False) -> dict[str, Any]:
    """The PostgreSQL datasource, reaching the database at ``db_url``."""
    parts = urlsplit(db_url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise PushError(f"not a PostgreSQL URL: {mask_url(db_url)}")
    database = parts.path.lstrip("/") or "postgres"
    body: dict[str, Any] = {
        "uid": DATASOURCE_UID,
        "name": "envmon PostgreSQL",
        "type": DATASOURCE_TYPE,
        "access": "proxy",
        "url": f"{parts.hostname}:{parts.port or 5432}",
        "user": unquote(parts.username or ""),
        "jsonData": {
            "database": database,
            "sslmode": "disable" if parts.hostname in ("localhost", "127.0.0.1") else "require",
            "postgresVersion": 1500,
            "timescaledb": timescaledb,
        },
    }
    if parts.password:
        body["secureJsonData"] = {"password": unquote(parts.password)}
    return body


def push(
    url: str, token: str, *, datasource: dict[str, Any] | None = None, timeout: float = 10.0
) -> PushReport:
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    where = mask_url(url)  # for messages: a URL may carry user:password
    report = PushReport(version=_version(api, where))
    try:
        report.folder = _upsert_folder(api)
        if datasource is not None:
            report.datasource = _upsert_datasource(api, datasource)
        for name, text in rendered().items():
            board = json.loads(text)
            api.dashboard.update_dashboard(
                {
                    "dashboard": board,
                    "folderUid": FOLDER_UID,
                    "overwrite": True,
                    "message": "envmon dashboards push",
                }
            )
            report.dashboards[board["uid"]] = name
            log.info("pushed %s", board["uid"])
    except GrafanaUnauthorizedError as e:
        raise PushError(f"Grafana at {where} refused the token (401): {_detail(e)}") from e
    except GrafanaClientError as e:
        if e.status_code == 403:
            raise PushError(
                f"the token may not write to Grafana at {where} (403): it needs the Editor"
                f" role (folders, dashboards) and Admin for the datasource: {_detail(e)}"
            ) from e
        raise PushError(
            f"Grafana at {where} refused a request ({e.status_code}): {_detail(e)}"
        ) from e
    except (GrafanaException, niquests.exceptions.RequestException) as e:
        raise PushError(f"Grafana at {where} failed: {mask_urls(str(e))}") from e
    return report


def _detail(e: GrafanaException) -> str:
    return str(getattr(e, "message", "") or e)


def _version(api: GrafanaApi, where: str) -> str:
    try:
        info = api.health.check()
    except GrafanaUnauthorizedError as e:
        raise PushError(f"Grafana at {where} refused the token (401): {_detail(e)}") from e
    except (GrafanaException, niquests.exceptions.RequestException) as e:
        raise PushError(f"cannot reach Grafana at {where}: {mask_urls(str(e))}") from e
    version = str(info.get("version", "")) if isinstance(info, dict) else ""
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise PushError(f"{where} did not answer as Grafana (/api/health: {info!r})") from None
    if major < MIN_MAJOR:
        raise PushError(
            f"Grafana {version} at {where} is too old: {MIN_MAJOR}.0 or later is needed"
        )
    return version


def _upsert_folder(api: GrafanaApi) -> str:
    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as e:
        if e.status_code != NOT_FOUND:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        return "created"
    return "exists"


def _upsert_datasource(api: GrafanaApi, body: dict[str, Any]) -> str:
    try:
        api.datasource.get_datasource_by_uid(DATASOURCE_UID)
    except GrafanaClientError as e:
        if e.status_code != NOT_FOUND:
            raise
        api.datasource.create_datasource(body)
        return "created"
    api.datasource.update_datasource_by_uid(DATASOURCE_UID, body)
    return "updated"
