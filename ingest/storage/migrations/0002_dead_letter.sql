-- What the collector could not accept: the raw bytes, where they came from, and why.

CREATE TABLE dead_letter (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL,
    topic       text NOT NULL,
    payload     bytea NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL,
    device_id   text,
    feed        text
);
CREATE INDEX dead_letter_received_idx ON dead_letter (received_at);
CREATE INDEX dead_letter_reason_idx ON dead_letter (reason, received_at);
