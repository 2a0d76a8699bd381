-- The payload's own time of a refused message when it could be read (impossible
-- values): a device that keeps sending them is judged on measurement time.
ALTER TABLE dead_letter ADD COLUMN device_ts timestamptz;
CREATE INDEX dead_letter_device_idx ON dead_letter (device_id, device_ts)
    WHERE device_ts IS NOT NULL;
