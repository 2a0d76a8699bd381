"""Rules, alerts, notifications, statistics and the HTTP API (they read what ingest stores).

Imports point down: ``api`` above ``rules``, above ``alerts``, ``notify`` and
``statistics``, which import none of each other.
"""
