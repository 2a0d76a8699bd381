pytest_plugins = [
    "tests.fixtures.markers",
    "tests.fixtures.servers",
    "tests.fixtures.collectors",
    "tests.fixtures.proxy",
    "tests.fixtures.receivers",
    "tests.fixtures.grafana",
]
