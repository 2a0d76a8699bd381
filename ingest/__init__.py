"""Ingest: the wire contract, the device registry, collectors and the tables they write.

Other packages use ``ingest.feeds`` (payload models per feed), ``ingest.topics``,
``ingest.reasons``, ``ingest.registry``, ``ingest.settings``, ``ingest.storage``,
``ingest.collector``, ``ingest.mqtt`` and ``ingest.hj212`` (the HJ 212 data-logger codec).
"""
