"""Ingest: the wire contract, the device registry, collectors and the tables they write.

Other packages use ``ingest.feeds`` (payload models per feed), ``ingest.topics``,
``ingest.reasons``, ``ingest.registry``, ``ingest.settings``, ``ingest.storage``,
``ingest.collector`` and ``ingest.mqtt``.
"""
