-- Usage: daily rollups kept by a trigger (dashboards stay fast on millions of logs), per-user limits, run
-- reservations (budgets reserve a run's worst case before it starts and settle to its real cost), and alerts.

-- ---------- rollups ----------
CREATE TABLE usage_daily (
    day DATE NOT NULL,
    user_id UUID NOT NULL REFERENCES auth.users ON DELETE CASCADE,
    requests INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    cost NUMERIC(14, 6) NOT NULL DEFAULT 0,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    -- Rows whose input and output tokens are both known (what AVG(input_tokens + output_tokens) averages over).
    token_rows INTEGER NOT NULL DEFAULT 0,
    token_sum BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, user_id)
);
CREATE INDEX ON usage_daily (user_id, day);

CREATE TABLE tool_daily (
    day DATE NOT NULL,
    tool TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    duration_ms_total DOUBLE PRECISION NOT NULL DEFAULT 0,
    duration_ms_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, tool)
);

CREATE FUNCTION tradechat_rollup_chat_logs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily AS u (day, user_id, requests, errors, cost, input_tokens, output_tokens, token_rows, token_sum)
    SELECT created_at::date, user_id, count(*), count(*) FILTER (WHERE status = 'error'), coalesce(sum(cost), 0),
           coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
           count(input_tokens + output_tokens), coalesce(sum(input_tokens + output_tokens), 0)
    FROM new_rows GROUP BY 1, 2
    ON CONFLICT (day, user_id) DO UPDATE SET
        requests = u.requests + EXCLUDED.requests,
        errors = u.errors + EXCLUDED.errors,
        cost = u.cost + EXCLUDED.cost,
        input_tokens = u.input_tokens + EXCLUDED.input_tokens,
        output_tokens = u.output_tokens + EXCLUDED.output_tokens,
        token_rows = u.token_rows + EXCLUDED.token_rows,
        token_sum = u.token_sum + EXCLUDED.token_sum;
    INSERT INTO tool_daily AS t (day, tool, calls, duration_ms_total, duration_ms_count)
    SELECT n.created_at::date, tool->>'name', count(*), coalesce(sum((tool->>'duration_ms')::float), 0),
           count(tool->>'duration_ms')
    FROM new_rows n, jsonb_array_elements(coalesce(n.tools_used, '[]'::jsonb)) AS tool
    WHERE tool->>'name' IS NOT NULL
    GROUP BY 1, 2
    ON CONFLICT (day, tool) DO UPDATE SET
        calls = t.calls + EXCLUDED.calls,
        duration_ms_total = t.duration_ms_total + EXCLUDED.duration_ms_total,
        duration_ms_count = t.duration_ms_count + EXCLUDED.duration_ms_count;
    RETURN NULL;
END $$;

CREATE TRIGGER chat_logs_rollup AFTER INSERT ON chat_logs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tradechat_rollup_chat_logs();

-- Rows logged before this migration.
INSERT INTO usage_daily (day, user_id, requests, errors, cost, input_tokens, output_tokens, token_rows, token_sum)
SELECT created_at::date, user_id, count(*), count(*) FILTER (WHERE status = 'error'), coalesce(sum(cost), 0),
       coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
       count(input_tokens + output_tokens), coalesce(sum(input_tokens + output_tokens), 0)
FROM chat_logs GROUP BY 1, 2;
INSERT INTO tool_daily (day, tool, calls, duration_ms_total, duration_ms_count)
SELECT c.created_at::date, tool->>'name', count(*), coalesce(sum((tool->>'duration_ms')::float), 0), count(tool->>'duration_ms')
FROM chat_logs c, jsonb_array_elements(coalesce(c.tools_used, '[]'::jsonb)) AS tool
WHERE tool->>'name' IS NOT NULL GROUP BY 1, 2;

-- The most-expensive list and per-day durations read a date range of logs.
CREATE INDEX idx_chat_logs_created_cost ON chat_logs (created_at, cost);
CREATE INDEX idx_chat_logs_cost ON chat_logs (cost DESC NULLS LAST);

-- ---------- limits ----------
CREATE TABLE user_limits (
    user_id UUID PRIMARY KEY REFERENCES auth.users ON DELETE CASCADE,
    requests_per_minute INTEGER CHECK (requests_per_minute > 0),
    max_concurrent_runs INTEGER CHECK (max_concurrent_runs > 0),
    daily_budget_usd NUMERIC(12, 4) CHECK (daily_budget_usd >= 0),
    monthly_budget_usd NUMERIC(12, 4) CHECK (monthly_budget_usd >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by UUID
);

-- The ledger behind rate limits, concurrency and budgets. A run holds a reservation of its worst-case cost
-- from admission until it settles to its real cost; an instance that dies leaves a reservation that stops
-- counting as in flight at expires_at.
CREATE TABLE run_reservations (
    run_id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES auth.users ON DELETE CASCADE,
    reserved_usd NUMERIC(12, 6) NOT NULL,
    actual_usd NUMERIC(12, 6),
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ON run_reservations (user_id, started_at);
CREATE INDEX ON run_reservations (started_at);

-- ---------- alerts ----------
CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('budget_80', 'budget_100', 'user_daily_spend', 'total_daily_spend')),
    scope TEXT NOT NULL CHECK (scope IN ('daily', 'monthly')),
    user_id UUID REFERENCES auth.users ON DELETE CASCADE,
    window_start DATE NOT NULL,
    amount_usd NUMERIC(14, 6) NOT NULL,
    threshold_usd NUMERIC(14, 6) NOT NULL,
    message TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ,
    delivery_attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    seen_at TIMESTAMPTZ
);
-- Each alert fires once per window.
CREATE UNIQUE INDEX alerts_once_per_window
    ON alerts (kind, scope, coalesce(user_id, '00000000-0000-0000-0000-000000000000'::uuid), window_start);
CREATE INDEX ON alerts (user_id, created_at DESC);

-- ---------- row-level security ----------
ALTER TABLE usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE tool_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_reservations ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;

CREATE POLICY "Users can read own usage" ON usage_daily FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY "Users can read own limits" ON user_limits FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY "Users can read own reservations" ON run_reservations
    FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY "Users can read own alerts" ON alerts FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY "Users can dismiss own alerts" ON alerts
    FOR UPDATE TO authenticated USING (auth.uid() = user_id) WITH CHECK (auth.uid() = user_id);

CREATE POLICY "Service role has full access" ON usage_daily FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON tool_daily FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON user_limits FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON run_reservations FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON alerts FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON usage_daily, tool_daily, user_limits, run_reservations, alerts FROM anon;
GRANT SELECT ON usage_daily, user_limits, run_reservations TO authenticated;
GRANT SELECT, UPDATE (seen_at) ON alerts TO authenticated;
GRANT ALL ON usage_daily, tool_daily, user_limits, run_reservations, alerts TO service_role;
GRANT USAGE, SELECT ON SEQUENCE alerts_id_seq TO service_role;
