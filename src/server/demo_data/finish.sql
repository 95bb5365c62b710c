-- Views, constraints and documentation, added after the bulk load.

-- Current holdings per account and symbol, derived from trades and the latest daily close.
CREATE VIEW positions AS
WITH held AS (
    SELECT
        account_id,
        symbol,
        sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) AS quantity,
        sum(CASE side WHEN 'buy' THEN quantity * price + fees ELSE -(quantity * price - fees) END) AS net_invested,
        sum(CASE side WHEN 'buy' THEN quantity * price END) / sum(CASE side WHEN 'buy' THEN quantity END)
            AS avg_buy_price,
        max(executed_at) AS last_trade_at
    FROM trades
    GROUP BY account_id, symbol
),
last_close AS (
    SELECT symbol, arg_max(close, date) AS close, max(date) AS date FROM daily_bars GROUP BY symbol
)
SELECT
    h.account_id,
    h.symbol,
    round(h.quantity, 8) AS quantity,
    round(h.avg_buy_price, 6) AS avg_buy_price,
    l.close AS last_price,
    l.date AS price_date,
    round(round(h.quantity, 8) * l.close, 2) AS market_value,
    round(h.net_invested, 2) AS net_invested,
    round(round(h.quantity, 8) * l.close - h.net_invested, 2) AS total_pnl,
    h.last_trade_at
FROM held h
JOIN last_close l USING (symbol);

-- Mark-to-market value and profit and loss per account and day.
CREATE VIEW daily_pnl AS
WITH flows AS (
    SELECT
        account_id,
        symbol,
        CAST(executed_at AS DATE) AS date,
        sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) AS quantity_change,
        sum(CASE side WHEN 'buy' THEN quantity * price + fees ELSE -(quantity * price - fees) END) AS cash_out
    FROM trades
    GROUP BY ALL
),
running AS (
    SELECT
        account_id,
        symbol,
        date,
        sum(quantity_change) OVER w AS quantity,
        sum(cash_out) OVER w AS net_invested
    FROM flows
    WINDOW w AS (PARTITION BY account_id, symbol ORDER BY date)
),
pairs AS (
    SELECT DISTINCT account_id, symbol FROM trades
),
marked AS (
    SELECT p.account_id, b.symbol, b.date, b.close
    FROM pairs p
    JOIN daily_bars b USING (symbol)
),
valued AS (
    SELECT m.account_id, m.date, round(r.quantity, 8) * m.close AS market_value, r.net_invested
    FROM marked m
    ASOF JOIN running r ON m.account_id = r.account_id AND m.symbol = r.symbol AND m.date >= r.date
),
per_day AS (
    SELECT account_id, date, sum(market_value) AS market_value, sum(net_invested) AS net_invested
    FROM valued
    GROUP BY account_id, date
)
SELECT
    account_id,
    date,
    round(market_value, 2) AS market_value,
    round(net_invested, 2) AS net_invested,
    round(market_value - net_invested, 2) AS cumulative_pnl,
    round((market_value - net_invested)
        - coalesce(lag(market_value - net_invested) OVER (PARTITION BY account_id ORDER BY date), 0), 2) AS pnl
FROM per_day;

COMMENT ON TABLE instruments IS 'Tradable instruments (synthetic demo data): one row per symbol.';
COMMENT ON COLUMN instruments.symbol IS 'Ticker, e.g. NOVA or BTC-USD; the key used by every other table.';
COMMENT ON COLUMN instruments.name IS 'Company, fund or asset name.';
COMMENT ON COLUMN instruments.asset_class IS 'equity, etf or crypto.';
COMMENT ON COLUMN instruments.sector IS 'Sector for equities, theme for ETFs, Digital Assets for crypto.';
COMMENT ON COLUMN instruments.exchange IS 'Listing venue (NYSE, NASDAQ, NYSE Arca, CRYPTO).';
COMMENT ON COLUMN instruments.currency IS 'Quote currency (ISO 4217).';
COMMENT ON COLUMN instruments.lot_size IS 'Smallest tradable quantity.';

COMMENT ON TABLE daily_bars IS 'Daily OHLCV bars. Equities and ETFs trade on exchange days (no weekends or US market holidays); crypto trades every calendar day. Opens may gap away from the previous close.';
COMMENT ON COLUMN daily_bars.symbol IS 'Instrument (instruments.symbol).';
COMMENT ON COLUMN daily_bars.date IS 'Trading day.';
COMMENT ON COLUMN daily_bars.open IS 'First price of the day, in the instrument currency.';
COMMENT ON COLUMN daily_bars.high IS 'Highest price of the day.';
COMMENT ON COLUMN daily_bars.low IS 'Lowest price of the day.';
COMMENT ON COLUMN daily_bars.close IS 'Last price of the day; returns are computed close to close.';
COMMENT ON COLUMN daily_bars.volume IS 'Units traded during the day.';

COMMENT ON TABLE minute_bars IS 'One-minute OHLCV bars of the regular session (09:30-16:00 exchange time) for a subset of equities and ETFs over the most recent trading days. On those days the daily bar equals the aggregate of its minutes.';
COMMENT ON COLUMN minute_bars.symbol IS 'Instrument (instruments.symbol).';
COMMENT ON COLUMN minute_bars.ts IS 'Start of the minute, exchange local time (America/New_York), no time zone.';
COMMENT ON COLUMN minute_bars.open IS 'First price of the minute.';
COMMENT ON COLUMN minute_bars.high IS 'Highest price of the minute.';
COMMENT ON COLUMN minute_bars.low IS 'Lowest price of the minute.';
COMMENT ON COLUMN minute_bars.close IS 'Last price of the minute.';
COMMENT ON COLUMN minute_bars.volume IS 'Units traded in the minute; VWAP = sum(close * volume) / sum(volume).';

COMMENT ON TABLE accounts IS 'The demo portfolio accounts.';
COMMENT ON COLUMN accounts.account_id IS 'Account key (trades.account_id).';
COMMENT ON COLUMN accounts.name IS 'Account name.';
COMMENT ON COLUMN accounts.style IS 'What the account trades.';
COMMENT ON COLUMN accounts.base_currency IS 'Currency the account reports in.';
COMMENT ON COLUMN accounts.opened_on IS 'Date the account opened.';

COMMENT ON TABLE trades IS 'Executed fills of the demo accounts. Prices lie within the bar of the fill time; no account sells more than it holds.';
COMMENT ON COLUMN trades.trade_id IS 'Fill key, increasing with execution time.';
COMMENT ON COLUMN trades.account_id IS 'Account (accounts.account_id).';
COMMENT ON COLUMN trades.symbol IS 'Instrument (instruments.symbol).';
COMMENT ON COLUMN trades.side IS 'buy or sell.';
COMMENT ON COLUMN trades.quantity IS 'Units filled (positive; side gives the direction).';
COMMENT ON COLUMN trades.price IS 'Fill price per unit.';
COMMENT ON COLUMN trades.fees IS 'Commission and fees paid, in USD.';
COMMENT ON COLUMN trades.executed_at IS 'Execution time: exchange local time for equities and ETFs, UTC for crypto.';

COMMENT ON VIEW positions IS 'Current holdings per account and symbol, derived from trades, valued at the latest daily close. Rows with quantity 0 are closed positions (their P&L is realised).';
COMMENT ON VIEW daily_pnl IS 'Per account and day: market value of holdings at the close, net cash invested (buys plus fees minus sell proceeds), cumulative P&L (market_value - net_invested) and the day''s P&L (its change from the previous row).';
-- View columns are documented like table columns (DuckDB keeps COMMENT ON COLUMN for views too).
COMMENT ON COLUMN positions.account_id IS 'Account (accounts.account_id).';
COMMENT ON COLUMN positions.symbol IS 'Instrument (instruments.symbol).';
COMMENT ON COLUMN positions.quantity IS 'Units held now: buys minus sells; 0 for a closed position.';
COMMENT ON COLUMN positions.avg_buy_price IS 'Quantity-weighted average price of all buys (fees excluded), in the instrument currency.';
COMMENT ON COLUMN positions.last_price IS 'Latest daily close of the symbol (daily_bars.close), used for valuation.';
COMMENT ON COLUMN positions.price_date IS 'Date of that close.';
COMMENT ON COLUMN positions.market_value IS 'quantity * last_price.';
COMMENT ON COLUMN positions.net_invested IS 'Net cash invested: cost of the buys plus all fees minus sell proceeds.';
COMMENT ON COLUMN positions.total_pnl IS 'Realised plus unrealised P&L: market_value - net_invested.';
COMMENT ON COLUMN positions.last_trade_at IS 'Time of the latest fill in this account and symbol (trades.executed_at).';

COMMENT ON COLUMN daily_pnl.account_id IS 'Account (accounts.account_id).';
COMMENT ON COLUMN daily_pnl.date IS 'Trading day (a daily bar date of a held symbol).';
COMMENT ON COLUMN daily_pnl.market_value IS 'Value of the holdings at that day''s closes.';
COMMENT ON COLUMN daily_pnl.net_invested IS 'Net cash invested up to that day: cost of the buys plus all fees minus sell proceeds.';
COMMENT ON COLUMN daily_pnl.cumulative_pnl IS 'P&L since the account opened: market_value - net_invested.';
COMMENT ON COLUMN daily_pnl.pnl IS 'The day''s P&L: change of cumulative_pnl from the account''s previous row.';
