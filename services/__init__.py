"""Rules, alerts, notifications, statistics and the HTTP API (they read what ingest stores).

Imports point down (checked by the import contracts in pyproject.toml): ``api`` above
``rules``, above ``alerts`` and ``notify`` (independent of each other), above
``statistics``, above ``standards`` (the standards' and targets' tables, which the
dashboards may read too). ``storage`` holds the migrations of these tables.
"""
