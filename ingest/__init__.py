"""Ingest: the wire contract, the device registry, collectors and the tables they write.

Other packages use ``ingest.feeds`` (payload models per feed), ``ingest.topics``,
``ingest.reasons``, ``ingest.registry``, ``ingest.settings``, ``ingest.storage`` (with
``storage.errors``, the classification of database errors), ``ingest.collector``,
``ingest.mqtt``, ``ingest.backoff`` and ``ingest.loops`` (the failure policy of every
long-running loop).
"""
