pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.collectors",
    "tests.fixtures.proxy",
    "tests.fixtures.receivers",
    "tests.fixtures.grafana",
]
