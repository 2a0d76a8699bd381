-- Typed per-feed tables: one wide row per device and device timestamp.
-- (device_id, ts) is the idempotency key: a redelivered message never makes a second row.
-- received_at is the collector's clock, for lag and late-data handling.
-- The BRIN index on ts keeps time-range scans cheap at almost no insert cost.

-- wastewater/reading: WastewaterReading
CREATE TABLE wastewater_reading (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    influent_flow_m3h double precision NOT NULL,
    effluent_flow_m3h double precision,
    bypass_flow_m3h double precision NOT NULL,
    influent_cod_mgl double precision,
    influent_nh3n_mgl double precision,
    effluent_cod_mgl double precision,
    effluent_nh3n_mgl double precision,
    effluent_tn_mgl double precision,
    effluent_tp_mgl double precision,
    effluent_ss_mgl double precision,
    effluent_ph double precision,
    water_temp_c double precision,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX wastewater_reading_ts_brin ON wastewater_reading USING brin (ts);

-- air/reading: AirReading
CREATE TABLE air_reading (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    pm25_ugm3   double precision,
    pm10_ugm3   double precision,
    so2_ugm3    double precision,
    no2_ugm3    double precision,
    o3_ugm3     double precision,
    co_mgm3     double precision,
    air_temp_c  double precision,
    rh_pct      double precision,
    wind_speed_ms double precision,
    wind_dir_deg double precision,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX air_reading_ts_brin ON air_reading USING brin (ts);

-- water/flow: InletFlow
CREATE TABLE water_inlet_flow (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    flow_m3h    double precision NOT NULL,
    pressure_kpa double precision,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX water_inlet_flow_ts_brin ON water_inlet_flow USING brin (ts);

-- water/pressure: Pressure
CREATE TABLE water_pressure (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    pressure_kpa double precision NOT NULL,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX water_pressure_ts_brin ON water_pressure USING brin (ts);

-- water/leak: LeakLoggerReading
CREATE TABLE leak_logger_reading (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    noise_db    double precision NOT NULL,
    spread_db   double precision NOT NULL,
    leak_flag   boolean NOT NULL,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX leak_logger_reading_ts_brin ON leak_logger_reading USING brin (ts);

-- water/billing: ``ts`` is the start of the local (Asia/Shanghai) day the bill covers.
CREATE TABLE water_billing (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    day         date NOT NULL,
    billed_m3   double precision NOT NULL,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX water_billing_ts_brin ON water_billing USING brin (ts);

-- v2x/heartbeat: Heartbeat
CREATE TABLE rsu_heartbeat (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    online      boolean NOT NULL,
    cpu_pct     double precision NOT NULL,
    mem_pct     double precision NOT NULL,
    board_temp_c double precision NOT NULL,
    gnss_lock   boolean NOT NULL,
    cloud_link  boolean NOT NULL,
    uptime_s    bigint NOT NULL,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX rsu_heartbeat_ts_brin ON rsu_heartbeat USING brin (ts);

-- v2x/counters: Counters
CREATE TABLE rsu_counters (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    interval_s  bigint NOT NULL,
    bsm_rx      bigint NOT NULL,
    map_tx      bigint NOT NULL,
    spat_tx     bigint NOT NULL,
    rsi_tx      bigint NOT NULL,
    rsm_tx      bigint NOT NULL,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX rsu_counters_ts_brin ON rsu_counters USING brin (ts);

-- v2x/event: RoadEvent
CREATE TABLE road_event (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    received_at timestamptz NOT NULL,
    event_id    text NOT NULL,
    msg_type    text NOT NULL,
    event_type  text NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    start_ts    timestamptz NOT NULL,
    end_ts      timestamptz,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX road_event_ts_brin ON road_event USING brin (ts);
