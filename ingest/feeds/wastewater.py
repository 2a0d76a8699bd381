"""Wastewater treatment plants and lift/pumping stations (GB 18918-2002 items).

Topic ``liudong/wastewater/<device_id>/reading``. Plants report flows and the online
analysers; pumping stations report flows only (quality fields null).
"""

from __future__ import annotations

from ingest.feeds._base import (
    Aggregates,
    Feed,
    Kind,
    Measure,
    OptionalMeasure,
    Payload,
    fields_of,
)

FLOW_MAX_M3H = 100_000.0  # ten times the largest plant's peak hourly flow


class WastewaterReading(Payload):
    influent_flow_m3h: float = Measure(0, FLOW_MAX_M3H, "influent (or pumped) flow, m³/h")
    effluent_flow_m3h: float | None = OptionalMeasure(
        0, FLOW_MAX_M3H, "treated effluent flow, m³/h"
    )
    bypass_flow_m3h: float = Measure(0, FLOW_MAX_M3H, "bypass/overflow flow, m³/h")
    influent_cod_mgl: float | None = OptionalMeasure(0, 10_000, "influent COD, mg/L")
    influent_nh3n_mgl: float | None = OptionalMeasure(0, 1_000, "influent NH3-N, mg/L")
    effluent_cod_mgl: float | None = OptionalMeasure(0, 10_000, "effluent COD, mg/L")
    effluent_nh3n_mgl: float | None = OptionalMeasure(0, 1_000, "effluent NH3-N, mg/L")
    effluent_tn_mgl: float | None = OptionalMeasure(0, 1_000, "effluent total nitrogen, mg/L")
    effluent_tp_mgl: float | None = OptionalMeasure(0, 200, "effluent total phosphorus, mg/L")
    effluent_ss_mgl: float | None = OptionalMeasure(0, 10_000, "effluent suspended solids, mg/L")
    effluent_ph: float | None = OptionalMeasure(0, 14, "effluent pH")
    water_temp_c: float | None = OptionalMeasure(-5, 60, "water temperature, °C")


FEED = Feed(
    name="wastewater",
    kinds=(
        Kind(
            feed="wastewater",
            name="reading",
            model=WastewaterReading,
            table="wastewater_reading",
            device_types=frozenset({"wwtp", "pumping_station"}),
            rollup=Aggregates(measures=fields_of(WastewaterReading)),
        ),
    ),
)
