"""The district's 2025 targets, as the API's KPIs and the dashboards show them."""

TREATMENT_RATE_PCT = 95.0  # urban sewage treatment rate, at least
LEAKAGE_DEFAULT_PCT = 9.0  # a DMA's leakage target unless its registry entry says otherwise
RSU_ONLINE_PCT = 98.0  # RSUs online, at least (the v2x-online-rate rule's default)
INTERSECTIONS_PLANNED = 535  # intersections the RSUs are to cover
