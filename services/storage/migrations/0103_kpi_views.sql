-- The district's KPIs, defined once: the HTTP API and the Grafana panels both read these
-- views. Plant and DMA meters report once a minute, so a day's volume is the sum of its
-- m³/h readings ÷ 60 (the rollups keep each measure's mean and sample count).

-- Wastewater: an engineering proxy of the official 污水处理率 (treated ÷ estimated
-- discharged): treated ÷ (treated + bypass/overflow), per plant and local day.
CREATE VIEW kpi_treatment_daily AS
SELECT r.bucket,
       r.device_id,
       coalesce(r.effluent_flow_m3h_avg * r.effluent_flow_m3h_n, 0) / 60 AS treated_m3,
       coalesce(r.bypass_flow_m3h_avg * r.bypass_flow_m3h_n, 0) / 60 AS bypass_m3
  FROM wastewater_reading_daily r
  JOIN device d USING (device_id)
 WHERE d.device_type = 'wwtp';

-- Water: CJJ 92-2016 comprehensive leakage, (supplied − billed) ÷ supplied, per DMA and
-- local day; supplied is the sum of the DMA's inlet meters, billed its daily billing.
CREATE VIEW kpi_leakage_daily AS
WITH supplied AS (
    SELECT f.bucket, i.parent_id AS dma_id,
           sum(f.flow_m3h_avg * f.flow_m3h_n) / 60 AS supplied_m3
      FROM water_inlet_flow_daily f
      JOIN device i USING (device_id)
     WHERE i.parent_id IS NOT NULL
     GROUP BY 1, 2
), billed AS (
    SELECT date_bin('1 day', ts, '2000-01-01 00:00:00+08') AS bucket, device_id AS dma_id,
           sum(billed_m3) AS billed_m3, count(*) AS bills
      FROM water_billing
     GROUP BY 1, 2
)
SELECT s.bucket, s.dma_id, s.supplied_m3,
       coalesce(b.billed_m3, 0) AS billed_m3, coalesce(b.bills, 0) AS bills
  FROM supplied s
  LEFT JOIN billed b USING (bucket, dma_id);
