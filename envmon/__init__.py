"""The composition root: the only package that knows every stage.

``cli`` parses the command line, ``runtime`` runs servers and services, ``bench`` measures,
``replay`` replays scenarios through the rule engine (for tests and benchmarks too).
"""
