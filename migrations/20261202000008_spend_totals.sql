-- Running spend per user and UTC day, kept by a trigger on the reservation ledger, so admission and the cost
-- alerts read a few rows (at most a month's) instead of summing every reservation the user or everyone ever made:
-- their cost stays flat as history grows. The ledger (`run_reservations`) stays the truth; these are derived from
-- it, in the same transaction.
--
-- reserved_usd: worst cases of the day's runs not settled yet (a crashed instance's count until settled — never
-- overshoot); settled_usd: real costs of the day's settled runs.
CREATE TABLE spend_daily (
    user_id UUID NOT NULL REFERENCES auth.users ON DELETE CASCADE,
    day DATE NOT NULL,
    reserved_usd NUMERIC(16, 6) NOT NULL DEFAULT 0,
    settled_usd NUMERIC(16, 6) NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);
CREATE INDEX ON spend_daily (day);
ALTER TABLE spend_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can read own spend" ON spend_daily FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY "Service role has full access" ON spend_daily FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON spend_daily FROM anon;
GRANT SELECT ON spend_daily TO authenticated;
GRANT ALL ON spend_daily TO service_role;

-- In-flight runs of a user are the unsettled ones: a small partial index, however long the history.
CREATE INDEX run_reservations_open ON run_reservations (user_id) WHERE settled_at IS NULL;

CREATE FUNCTION tradechat_spend_of_reservations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_day DATE := (NEW.started_at AT TIME ZONE 'UTC')::date;
    reserved NUMERIC := 0;
    settled NUMERIC := 0;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.settled_at IS NULL THEN reserved := NEW.reserved_usd; ELSE settled := coalesce(NEW.actual_usd, NEW.reserved_usd); END IF;
    ELSIF OLD.settled_at IS NULL AND NEW.settled_at IS NOT NULL THEN
        reserved := -OLD.reserved_usd;
        settled := coalesce(NEW.actual_usd, NEW.reserved_usd);
    ELSE
        RETURN NEW;
    END IF;
    INSERT INTO spend_daily AS s (user_id, day, reserved_usd, settled_usd) VALUES (NEW.user_id, v_day, reserved, settled)
    ON CONFLICT (user_id, day) DO UPDATE
        SET reserved_usd = s.reserved_usd + EXCLUDED.reserved_usd, settled_usd = s.settled_usd + EXCLUDED.settled_usd;
    RETURN NEW;
END
$$;
CREATE TRIGGER run_reservations_spend AFTER INSERT OR UPDATE OF settled_at ON run_reservations
    FOR EACH ROW EXECUTE FUNCTION tradechat_spend_of_reservations();

-- What the ledger already holds.
INSERT INTO spend_daily (user_id, day, reserved_usd, settled_usd)
SELECT user_id, (started_at AT TIME ZONE 'UTC')::date,
       coalesce(sum(reserved_usd) FILTER (WHERE settled_at IS NULL), 0),
       coalesce(sum(coalesce(actual_usd, reserved_usd)) FILTER (WHERE settled_at IS NOT NULL), 0)
FROM run_reservations GROUP BY 1, 2;

-- Admission in one call: serialised per user (an advisory lock, so every instance agrees), the user's limits,
-- rate, concurrency and budgets checked, and the reservation made — or the limit that stops it returned, with
-- what its message needs. One round trip and one commit per question.
CREATE FUNCTION tradechat_admit(
    p_user UUID, p_run UUID, p_worst NUMERIC, p_today DATE, p_month_start DATE, p_ttl_minutes INTEGER,
    p_rpm INTEGER, p_concurrent INTEGER, p_daily NUMERIC, p_monthly NUMERIC
) RETURNS TABLE (refused TEXT, limit_value NUMERIC, in_flight BIGINT, oldest_recent TIMESTAMPTZ)
LANGUAGE plpgsql AS $$
DECLARE
    rpm INTEGER; concurrent INTEGER; daily NUMERIC; monthly NUMERIC;
    recent BIGINT; oldest TIMESTAMPTZ; open_runs BIGINT; day_spend NUMERIC; month_spend NUMERIC;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('tradechat-admission:' || p_user::text, 0));
    SELECT coalesce(l.requests_per_minute, p_rpm), coalesce(l.max_concurrent_runs, p_concurrent),
           coalesce(l.daily_budget_usd, p_daily), coalesce(l.monthly_budget_usd, p_monthly)
      INTO rpm, concurrent, daily, monthly
      FROM (SELECT 1) AS one LEFT JOIN user_limits l ON l.user_id = p_user;
    SELECT count(*), min(started_at) INTO recent, oldest FROM run_reservations
     WHERE user_id = p_user AND started_at > now() - interval '1 minute';
    IF recent >= rpm THEN
        RETURN QUERY SELECT 'rate'::text, rpm::numeric, recent, oldest; RETURN;
    END IF;
    SELECT count(*) INTO open_runs FROM run_reservations
     WHERE user_id = p_user AND settled_at IS NULL AND expires_at > now();
    IF open_runs >= concurrent THEN
        RETURN QUERY SELECT 'concurrency'::text, concurrent::numeric, open_runs, NULL::timestamptz; RETURN;
    END IF;
    IF daily > 0 OR monthly > 0 THEN
        SELECT coalesce(sum(reserved_usd + settled_usd) FILTER (WHERE day = p_today), 0),
               coalesce(sum(reserved_usd + settled_usd), 0)
          INTO day_spend, month_spend
          FROM spend_daily WHERE user_id = p_user AND day >= p_month_start;
        IF daily > 0 AND day_spend + p_worst > daily THEN
            RETURN QUERY SELECT 'daily'::text, daily, 0::bigint, NULL::timestamptz; RETURN;
        END IF;
        IF monthly > 0 AND month_spend + p_worst > monthly THEN
            RETURN QUERY SELECT 'monthly'::text, monthly, 0::bigint, NULL::timestamptz; RETURN;
        END IF;
    END IF;
    INSERT INTO run_reservations (run_id, user_id, reserved_usd, expires_at)
    VALUES (p_run, p_user, p_worst, now() + make_interval(mins => p_ttl_minutes));
    RETURN QUERY SELECT NULL::text, NULL::numeric, 0::bigint, NULL::timestamptz;
END
$$;
