-- The health of each long-running loop (collector writer, rollup maintainer, rule engine,
-- notification dispatcher): one row per loop and instance, counts added by the loop's
-- process whenever the database answers. The API's /metrics reads it.
CREATE TABLE loop_health (
    loop               text NOT NULL,
    instance           text NOT NULL,
    transient_failures bigint NOT NULL DEFAULT 0,
    permanent_failures bigint NOT NULL DEFAULT 0,
    last_error         text,           -- exception class and SQLSTATE, e.g. UndefinedTable (42P01)
    last_error_kind    text CHECK (last_error_kind IN ('transient', 'permanent')),
    last_error_at      timestamptz,
    last_success_at    timestamptz,
    PRIMARY KEY (loop, instance)
);
