"""Broker security: the accounts of the district and the broker's security file."""

from ingest.broker.accounts import (
    COLLECTOR_USER,
    GATEWAY_USER,
    SIMULATOR_USER,
    Account,
    AccountPlan,
    accounts,
)
from ingest.broker.config import FromDatabase, Written, write_config
from ingest.broker.dynsec import CONFIG_NAME, BrokerConfigError, Hashed, read_hashes
from ingest.broker.store import api_devices, issue_device_account, issued_hashes

__all__ = [
    "COLLECTOR_USER",
    "CONFIG_NAME",
    "GATEWAY_USER",
    "SIMULATOR_USER",
    "Account",
    "AccountPlan",
    "BrokerConfigError",
    "FromDatabase",
    "Hashed",
    "Written",
    "accounts",
    "api_devices",
    "issue_device_account",
    "issued_hashes",
    "read_hashes",
    "write_config",
]
