-- Loss made visible: each device's sequence numbers, per message kind, watched for gaps.
-- seq_watch holds the newest (ts, seq) of each device and table; seq_gap each run of
-- sequence numbers that never arrived between two that did, and how many of them arrived
-- late since (a data logger's buffer, a redelivery from another collector).
CREATE TABLE seq_watch (
    table_name  text NOT NULL,
    device_id   text NOT NULL,
    last_ts     timestamptz NOT NULL,
    last_seq    bigint NOT NULL,
    PRIMARY KEY (table_name, device_id)
);

CREATE TABLE seq_gap (
    id           bigserial PRIMARY KEY,
    table_name   text NOT NULL,
    device_id    text NOT NULL,
    feed         text NOT NULL,
    from_seq     bigint NOT NULL,
    to_seq       bigint NOT NULL,
    after_ts     timestamptz NOT NULL,     -- the message before the gap
    before_ts    timestamptz NOT NULL,     -- the message after it
    recovered    bigint NOT NULL DEFAULT 0,
    detected_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (to_seq >= from_seq),
    UNIQUE (table_name, device_id, from_seq)
);
CREATE INDEX seq_gap_device_idx ON seq_gap (table_name, device_id, before_ts);
CREATE INDEX seq_gap_time_idx ON seq_gap (feed, before_ts);
