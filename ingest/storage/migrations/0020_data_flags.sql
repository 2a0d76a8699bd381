-- The data flag of each measure that carried one (HJ 212-2017 Table 8: N normal,
-- F stopped, M maintenance, S manual, D fault, C calibration, T over range,
-- B communication fault), as {"field": "C", ...}; NULL when none did. Only N (or no flag)
-- is a valid value for compliance statistics.
ALTER TABLE wastewater_reading ADD COLUMN flags jsonb;
ALTER TABLE air_reading ADD COLUMN flags jsonb;
ALTER TABLE water_inlet_flow ADD COLUMN flags jsonb;
ALTER TABLE water_pressure ADD COLUMN flags jsonb;
ALTER TABLE leak_logger_reading ADD COLUMN flags jsonb;
ALTER TABLE water_billing ADD COLUMN flags jsonb;
ALTER TABLE rsu_heartbeat ADD COLUMN flags jsonb;
ALTER TABLE rsu_counters ADD COLUMN flags jsonb;
ALTER TABLE road_event ADD COLUMN flags jsonb;
