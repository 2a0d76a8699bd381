"""The district's 2025 targets, as the rules, the API's KPIs and the dashboards use them."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

TREATMENT_RATE_PCT: Final = 95.0  # urban sewage treatment rate, at least
LEAKAGE_DEFAULT_PCT: Final = 9.0  # a DMA's leakage target unless its registry entry says otherwise
RSU_ONLINE_PCT: Final = 98.0  # RSUs online, at least
INTERSECTIONS_PLANNED: Final = 535  # intersections the RSUs are to cover

Target = Literal["treatment_rate_pct", "leakage_pct", "rsu_online_pct"]
TARGETS: Final[Mapping[Target, float]] = MappingProxyType(
    {
        "treatment_rate_pct": TREATMENT_RATE_PCT,
        "leakage_pct": LEAKAGE_DEFAULT_PCT,
        "rsu_online_pct": RSU_ONLINE_PCT,
    }
)
"""The targets a rule's threshold may name (``limits: {table: targets, target: ...}``)."""
