-- The rule engine keeps each rule's state rows in memory between passes. Whoever else
-- changes rule_state (an operator's manual clear) bumps this first, in the same
-- transaction, and the engine reloads.
ALTER TABLE rule_engine ADD COLUMN generation bigint NOT NULL DEFAULT 0;
