"""Ingest: the wire contract, the device registry, collectors and the tables they write."""
