"""Ingest: the wire contract, the device registry, collectors and the tables they write.

Other packages use ``ingest.feeds`` (payload models per feed), ``ingest.topics``,
``ingest.reasons``, ``ingest.registry``, ``ingest.settings``, ``ingest.secrets`` (masking),
``ingest.storage`` (with ``storage.errors``, the classification of database errors),
``ingest.collector``, ``ingest.mqtt``, ``ingest.hj212`` (the HJ 212 data-logger codec),
``ingest.backoff`` and ``ingest.loops`` (the failure policy of every long-running loop).
"""
