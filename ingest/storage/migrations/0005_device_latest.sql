-- The newest measurement time stored per device and table, kept by the collector in the
-- same transaction as the rows. Downstream services read it for silence detection and to
-- know how far each device's data has arrived (their event-time watermark).
CREATE TABLE device_latest (
    table_name  text NOT NULL,
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (table_name, device_id)
);
