"""Broker security: the accounts of the district and the broker's security file."""

from ingest.broker.accounts import (
    COLLECTOR_USER,
    GATEWAY_USER,
    SIMULATOR_USER,
    Account,
    AccountPlan,
    accounts,
)
from ingest.broker.config import Written, write_config
from ingest.broker.dynsec import CONFIG_NAME, BrokerConfigError, Hashed, read_hashes

__all__ = [
    "COLLECTOR_USER",
    "CONFIG_NAME",
    "GATEWAY_USER",
    "SIMULATOR_USER",
    "Account",
    "AccountPlan",
    "BrokerConfigError",
    "Hashed",
    "Written",
    "accounts",
    "read_hashes",
    "write_config",
]
