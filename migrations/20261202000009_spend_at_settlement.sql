-- Spend totals move at settlement only, one statement per batch; admission writes nothing but its reservation.
--
-- Migration 8 kept both the open worst cases and the settled costs in `spend_daily`, through a row trigger that
-- upserted a total on every reservation and again on every settlement: two contended upserts per run, the largest
-- share of admission's time. Open reservations are few per user whatever the history (a partial index holds only
-- them), so admission sums them directly; `spend_daily` keeps the settled costs, added by a statement trigger per
-- settlement batch in a fixed key order (parallel batches cannot deadlock).
DROP TRIGGER run_reservations_spend ON run_reservations;
DROP FUNCTION tradechat_spend_of_reservations();
-- The settled totals are already right (kept by the dropped trigger until now); the open part is read live.
ALTER TABLE spend_daily DROP COLUMN reserved_usd;

-- A run logged already settled (imports, tests) counts at once.
CREATE FUNCTION tradechat_spend_of_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO spend_daily AS s (user_id, day, settled_usd)
    VALUES (NEW.user_id, (NEW.started_at AT TIME ZONE 'UTC')::date, coalesce(NEW.actual_usd, NEW.reserved_usd))
    ON CONFLICT (user_id, day) DO UPDATE SET settled_usd = s.settled_usd + EXCLUDED.settled_usd;
    RETURN NULL;
END $$;
CREATE TRIGGER run_reservations_spend_inserted AFTER INSERT ON run_reservations
    FOR EACH ROW WHEN (NEW.settled_at IS NOT NULL) EXECUTE FUNCTION tradechat_spend_of_inserted();

-- Reservations settled by one statement (the settler's batch): one grouped upsert.
CREATE FUNCTION tradechat_spend_of_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO spend_daily AS s (user_id, day, settled_usd)
    SELECT n.user_id, (n.started_at AT TIME ZONE 'UTC')::date, sum(coalesce(n.actual_usd, n.reserved_usd))
    FROM new_rows n JOIN old_rows o ON o.run_id = n.run_id
    WHERE o.settled_at IS NULL AND n.settled_at IS NOT NULL
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET settled_usd = s.settled_usd + EXCLUDED.settled_usd;
    RETURN NULL;
END $$;
CREATE TRIGGER run_reservations_spend_settled AFTER UPDATE ON run_reservations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tradechat_spend_of_settled();

-- What a user's budgets count, read in one statement (one snapshot: a settlement committing meanwhile cannot make
-- a run count twice or not at all): runs still in flight, and spend for the day and the month, each as settled
-- costs plus the worst cases of runs not settled yet. Shared by admission and "My usage", so the meter fills
-- exactly as far as the budget check sees it. Runs as its caller (row-level security applies to a user).
CREATE FUNCTION tradechat_spend(p_user UUID, p_today DATE, p_month_start DATE)
RETURNS TABLE (in_flight BIGINT, day_settled NUMERIC, day_open NUMERIC, month_settled NUMERIC, month_open NUMERIC)
LANGUAGE sql STABLE AS $$
    SELECT o.in_flight, s.day_settled, o.day_open, s.month_settled, o.month_open
    FROM (SELECT count(*) FILTER (WHERE expires_at > now()) AS in_flight,
                 coalesce(sum(reserved_usd) FILTER (WHERE (started_at AT TIME ZONE 'UTC')::date = p_today), 0) AS day_open,
                 coalesce(sum(reserved_usd) FILTER (WHERE (started_at AT TIME ZONE 'UTC')::date >= p_month_start), 0)
                     AS month_open
          FROM run_reservations WHERE user_id = p_user AND settled_at IS NULL) AS o,
         (SELECT coalesce(sum(settled_usd) FILTER (WHERE day = p_today), 0) AS day_settled,
                 coalesce(sum(settled_usd), 0) AS month_settled
          FROM spend_daily WHERE user_id = p_user AND day >= p_month_start) AS s
$$;

CREATE OR REPLACE FUNCTION tradechat_admit(
    p_user UUID, p_run UUID, p_worst NUMERIC, p_today DATE, p_month_start DATE, p_ttl_minutes INTEGER,
    p_rpm INTEGER, p_concurrent INTEGER, p_daily NUMERIC, p_monthly NUMERIC
) RETURNS TABLE (refused TEXT, limit_value NUMERIC, in_flight BIGINT, oldest_recent TIMESTAMPTZ)
LANGUAGE plpgsql AS $$
DECLARE
    rpm INTEGER; concurrent INTEGER; daily NUMERIC; monthly NUMERIC;
    recent BIGINT; oldest TIMESTAMPTZ; spend RECORD;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('tradechat-admission:' || p_user::text, 0));
    SELECT coalesce(l.requests_per_minute, p_rpm), coalesce(l.max_concurrent_runs, p_concurrent),
           coalesce(l.daily_budget_usd, p_daily), coalesce(l.monthly_budget_usd, p_monthly)
      INTO rpm, concurrent, daily, monthly
      FROM (SELECT 1) AS one LEFT JOIN user_limits l ON l.user_id = p_user;
    -- Counting stops at the limit: a user far below it costs a few index entries, not a minute of runs.
    SELECT count(*) INTO recent FROM (SELECT 1 FROM run_reservations
     WHERE user_id = p_user AND started_at > now() - interval '1 minute' LIMIT rpm) AS r;
    IF recent >= rpm THEN
        SELECT min(started_at) INTO oldest FROM run_reservations
         WHERE user_id = p_user AND started_at > now() - interval '1 minute';
        RETURN QUERY SELECT 'rate'::text, rpm::numeric, recent, oldest; RETURN;
    END IF;
    SELECT * INTO spend FROM tradechat_spend(p_user, p_today, p_month_start);
    IF spend.in_flight >= concurrent THEN
        RETURN QUERY SELECT 'concurrency'::text, concurrent::numeric, spend.in_flight, NULL::timestamptz; RETURN;
    END IF;
    IF daily > 0 AND spend.day_settled + spend.day_open + p_worst > daily THEN
        RETURN QUERY SELECT 'daily'::text, daily, 0::bigint, NULL::timestamptz; RETURN;
    END IF;
    IF monthly > 0 AND spend.month_settled + spend.month_open + p_worst > monthly THEN
        RETURN QUERY SELECT 'monthly'::text, monthly, 0::bigint, NULL::timestamptz; RETURN;
    END IF;
    INSERT INTO run_reservations (run_id, user_id, reserved_usd, expires_at)
    VALUES (p_run, p_user, p_worst, now() + make_interval(mins => p_ttl_minutes));
    RETURN QUERY SELECT NULL::text, NULL::numeric, 0::bigint, NULL::timestamptz;
END
$$;

-- ---------- chat_logs: fewer indexes to keep on every insert, one that serves the history page ----------
-- The seed's created_at index is redundant with idx_chat_logs_created_cost (created_at leads both; a B-tree is
-- read backwards as fast as forwards).
DROP INDEX idx_chat_logs_created;
-- History pages are the user's rows newest first: the seed's user index, extended so a page is read in order
-- instead of sorting the user's whole history.
DROP INDEX idx_chat_logs_user;
CREATE INDEX idx_chat_logs_user ON chat_logs (user_id, created_at DESC, id DESC);

-- The rollups upsert in key order, so two batches flushed in parallel take their row locks in the same order
-- (no deadlock between the writer's flushers).
CREATE OR REPLACE FUNCTION tradechat_rollup_chat_logs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily AS u (day, user_id, requests, errors, cost, input_tokens, output_tokens, token_rows, token_sum)
    SELECT created_at::date, user_id, count(*), count(*) FILTER (WHERE status = 'error'), coalesce(sum(cost), 0),
           coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
           count(input_tokens + output_tokens), coalesce(sum(input_tokens + output_tokens), 0)
    FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
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
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (day, tool) DO UPDATE SET
        calls = t.calls + EXCLUDED.calls,
        duration_ms_total = t.duration_ms_total + EXCLUDED.duration_ms_total,
        duration_ms_count = t.duration_ms_count + EXCLUDED.duration_ms_count;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tradechat_rollup_durations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO duration_daily AS d (day, bucket, count)
    SELECT created_at::date, tradechat_duration_bucket(duration_ms), count(*)
    FROM new_rows WHERE duration_ms IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (day, bucket) DO UPDATE SET count = d.count + EXCLUDED.count;
    RETURN NULL;
END $$;
