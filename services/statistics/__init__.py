"""Statistics computed from stored data, each defined once.

The rule evaluators, the KPI endpoints and reports call the same functions for the same
figure: ``hourly`` (valid hourly means and the daily figures built on them), and one
module per feed (``air``, ``wastewater``, ``water``, ``v2x``). Nothing here knows rules,
alerts or notifications.
"""
