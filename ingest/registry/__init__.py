"""The district's device registry: the data file and its tables."""

from ingest.registry.hj212 import CodeMapping, Hj212Logger
from ingest.registry.model import AirStation, Device, Registry, Reporting, WastewaterSite
from ingest.registry.store import SECRETS, device_types, dump_registry, load_registry, sync_registry

__all__ = [
    "SECRETS",
    "AirStation",
    "CodeMapping",
    "Device",
    "Hj212Logger",
    "Registry",
    "Reporting",
    "WastewaterSite",
    "device_types",
    "dump_registry",
    "load_registry",
    "sync_registry",
]
