"""The district's device registry: the data file and its tables."""

from ingest.registry.model import Device, Registry
from ingest.registry.store import device_types, load_registry, sync_registry

__all__ = ["Device", "Registry", "device_types", "load_registry", "sync_registry"]
