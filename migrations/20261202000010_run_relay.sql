-- Runs any instance can serve: the live runs and their events, relayed through Postgres.
--
-- UNLOGGED on purpose: these tables are a relay, not a record. A run's record is its `chat_logs` row (written by
-- the lossless log writer); its events here only let another instance stream it while it runs, and are purged
-- two minutes after it ends. Skipping the WAL keeps the relay off the commit path that admission and the logs share
-- (no fsync per batch). After a Postgres crash they come back empty: runs then in flight end without a remote
-- stream (their own instance still streams them, and their log rows are written as always).
CREATE UNLOGGED TABLE runs_live (
    run_id UUID PRIMARY KEY,
    user_id UUID NOT NULL,
    conversation_id UUID NOT NULL,
    -- The instance running it, which renews `heartbeat_at` while it does (its lease).
    instance UUID NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    -- Set by a stop request on any instance; the running instance is woken by NOTIFY and also reads it with
    -- every heartbeat.
    stop_requested BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX runs_live_open ON runs_live (heartbeat_at) WHERE finished_at IS NULL;
CREATE INDEX runs_live_conversation ON runs_live (user_id, conversation_id, started_at DESC);

-- One row per run per batch: the run's events of that batch, in order (a run streams dozens of small events a
-- second; a row each would multiply the relay's work).
CREATE UNLOGGED TABLE run_events (
    run_id UUID NOT NULL,
    -- The index of the first event of the row in its run (the SSE `id`s are seq, seq + 1, …).
    seq INTEGER NOT NULL,
    -- The events' kinds (the SSE `event:`), comma-separated.
    kinds TEXT NOT NULL,
    -- The events' SSE `data:` (each the event as JSON, exactly as the running instance sends it), as a JSON array.
    events TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Only the server reads and writes them (as the service role), after checking the user itself.
ALTER TABLE runs_live ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Service role has full access" ON runs_live FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON run_events FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON runs_live, run_events FROM anon, authenticated;
GRANT ALL ON runs_live, run_events TO service_role;
