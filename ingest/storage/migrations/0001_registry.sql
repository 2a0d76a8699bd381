-- The district's device registry, loaded from ingest/registry/liudong.json at start-up.

CREATE TABLE area (
    code        text PRIMARY KEY,
    name_zh     text NOT NULL,
    name_en     text NOT NULL
);

-- Every device that publishes; the collector accepts messages only from these.
CREATE TABLE device (
    device_id   text PRIMARY KEY,
    feed        text NOT NULL CHECK (feed IN ('wastewater', 'air', 'water', 'v2x')),
    device_type text NOT NULL,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    area        text NOT NULL REFERENCES area (code),
    parent_id   text,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    attrs       jsonb NOT NULL DEFAULT '{}',
    retired_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_feed_type_idx ON device (feed, device_type);
CREATE INDEX device_parent_idx ON device (parent_id);

CREATE TABLE wastewater_site (
    device_id           text PRIMARY KEY REFERENCES device (device_id),
    site_type           text NOT NULL CHECK (site_type IN ('wwtp', 'pumping_station')),
    service_zone        text NOT NULL,
    design_capacity_m3d double precision NOT NULL CHECK (design_capacity_m3d > 0),
    discharge_standard  text NOT NULL,
    receiving_water     text,
    commissioned        date
);

CREATE TABLE dma (
    device_id           text PRIMARY KEY REFERENCES device (device_id),
    population          integer NOT NULL,
    mains_km            double precision NOT NULL,
    service_connections integer NOT NULL,
    leakage_target_pct  double precision NOT NULL
);

CREATE TABLE intersection (
    intersection_id text PRIMARY KEY,
    name_zh         text NOT NULL,
    name_en         text NOT NULL,
    area            text NOT NULL REFERENCES area (code),
    road_zh         text NOT NULL,
    road_en         text NOT NULL,
    lat             double precision NOT NULL,
    lon             double precision NOT NULL
);
