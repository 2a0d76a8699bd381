pytest_plugins = [
    "tests.fixtures.markers",
    "tests.fixtures.servers",
    "tests.fixtures.collectors",
    "tests.fixtures.hj212",
    "tests.fixtures.proxy",
    "tests.fixtures.receivers",
    "tests.fixtures.security",
    "tests.fixtures.grafana",
    "tests.fixtures.browser",
]
