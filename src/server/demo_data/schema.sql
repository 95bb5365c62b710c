-- The demo trading data set. Synthetic: fictional equities, real crypto names with simulated prices.
CREATE TABLE instruments (
    symbol VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    asset_class VARCHAR NOT NULL,
    sector VARCHAR NOT NULL,
    exchange VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    lot_size DOUBLE NOT NULL
);
CREATE TABLE daily_bars (
    symbol VARCHAR NOT NULL,
    date DATE NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume BIGINT NOT NULL
);
CREATE TABLE minute_bars (
    symbol VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume BIGINT NOT NULL
);
CREATE TABLE accounts (
    account_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    style VARCHAR NOT NULL,
    base_currency VARCHAR NOT NULL,
    opened_on DATE NOT NULL
);
CREATE TABLE trades (
    trade_id BIGINT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    symbol VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    quantity DOUBLE NOT NULL,
    price DOUBLE NOT NULL,
    fees DOUBLE NOT NULL,
    executed_at TIMESTAMP NOT NULL
);
