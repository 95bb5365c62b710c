//! The demo instruments: fictional equities over eight sectors, ETFs and major crypto assets, with the
//! parameters their price paths are drawn from. `--scale` above 1 adds synthetic equities; below 1 takes a subset.

/// Asset classes in the demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetClass {
    /// Common stock, traded on exchange days in the regular session.
    Equity,
    /// Exchange-traded fund, same calendar as equities.
    Etf,
    /// Crypto asset, traded every calendar day.
    Crypto,
}

impl AssetClass {
    /// The value stored in `instruments.asset_class`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equity => "equity",
            Self::Etf => "etf",
            Self::Crypto => "crypto",
        }
    }
}

/// One instrument and its price-model parameters.
#[derive(Debug, Clone)]
pub struct Instrument {
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Asset class.
    pub class: AssetClass,
    /// Sector (for ETFs the theme, for crypto "Digital Assets").
    pub sector: &'static str,
    /// Listing venue.
    pub exchange: &'static str,
    /// Minimum tradable quantity.
    pub lot_size: f64,
    /// Price on the first day.
    pub start_price: f64,
    /// Expected annual log return.
    pub drift: f64,
    /// Annualised volatility of the idiosyncratic part.
    pub vol: f64,
    /// Loading on the market (or crypto) factor.
    pub beta: f64,
    /// Index into [`SECTORS`] of the sector factor it loads on (`None` for crypto).
    pub sector_index: Option<usize>,
    /// Typical daily volume in units.
    pub base_volume: f64,
}

/// Equity sectors, each with its own factor.
pub const SECTORS: [&str; 8] =
    ["Technology", "Financials", "Healthcare", "Energy", "Consumer", "Industrials", "Utilities", "Materials"];

/// (symbol, name, sector index, start price, beta, idiosyncratic vol)
const EQUITIES: [(&str, &str, usize, f64, f64, f64); 40] = [
    ("NOVA", "Novatech Systems", 0, 182.40, 1.25, 0.28),
    ("QBIT", "Qubit Dynamics", 0, 64.10, 1.55, 0.45),
    ("CLDX", "Cloudex Software", 0, 121.75, 1.30, 0.35),
    ("SEMX", "Semitronix", 0, 98.20, 1.45, 0.40),
    ("DTST", "Datastream Corp", 0, 47.35, 1.10, 0.30),
    ("HRBR", "Harbor Bancorp", 1, 52.60, 1.05, 0.22),
    ("PNCL", "Pinnacle Capital", 1, 138.90, 1.15, 0.24),
    ("LDGR", "Ledger Payments", 1, 211.30, 1.20, 0.27),
    ("TRST", "Trustmark Financial", 1, 36.85, 0.95, 0.20),
    ("VLTB", "Vault Brokerage", 1, 74.40, 1.30, 0.33),
    ("CURA", "Curative Biologics", 2, 88.15, 0.80, 0.38),
    ("MEDX", "Medexa Health", 2, 143.60, 0.70, 0.22),
    ("GENO", "Genomix Labs", 2, 29.70, 1.10, 0.55),
    ("PLSE", "Pulse Devices", 2, 167.25, 0.85, 0.24),
    ("VITA", "Vitacare Pharma", 2, 58.90, 0.65, 0.21),
    ("PTRX", "Petrex Energy", 3, 71.20, 0.95, 0.32),
    ("SOLR", "Solaris Power", 3, 43.55, 1.35, 0.48),
    ("DRLL", "Deepwell Drilling", 3, 24.80, 1.20, 0.42),
    ("GASX", "Gaslight Midstream", 3, 39.45, 0.75, 0.23),
    ("WNDR", "Windridge Renewables", 3, 33.10, 1.25, 0.44),
    ("CART", "Cartwheel Retail", 4, 96.35, 1.00, 0.27),
    ("BRWC", "Brewcraft Beverages", 4, 61.80, 0.60, 0.19),
    ("STYL", "Stylehaus Apparel", 4, 45.25, 1.15, 0.34),
    ("HOMY", "Homey Goods", 4, 119.40, 0.90, 0.23),
    ("FDLX", "Foodlux Markets", 4, 54.70, 0.55, 0.18),
    ("AERO", "Aerodyne Industries", 5, 156.80, 1.05, 0.25),
    ("RAIL", "Railstar Logistics", 5, 87.95, 0.95, 0.22),
    ("BLDX", "Buildex Machinery", 5, 112.30, 1.10, 0.26),
    ("ROBO", "Roboworks Automation", 5, 68.45, 1.35, 0.36),
    ("SHIP", "Shipwright Freight", 5, 41.60, 1.00, 0.30),
    ("GRID", "Gridline Utilities", 6, 63.20, 0.45, 0.15),
    ("AQUA", "Aquaflow Water", 6, 48.75, 0.40, 0.14),
    ("VOLT", "Voltaic Electric", 6, 77.30, 0.50, 0.17),
    ("NGAS", "Northgas Distribution", 6, 35.90, 0.45, 0.16),
    ("HYDR", "Hydrora Power", 6, 57.15, 0.55, 0.19),
    ("ORE", "Orefield Mining", 7, 46.40, 1.15, 0.35),
    ("STEL", "Steelcrest", 7, 32.85, 1.25, 0.33),
    ("CHEM", "Chemora Materials", 7, 91.60, 0.95, 0.25),
    ("TMBR", "Timberline Products", 7, 28.35, 0.90, 0.27),
    ("LITH", "Lithica Resources", 7, 19.95, 1.40, 0.52),
];

/// (symbol, name, theme, sector loading index or None for broad, start price, beta, vol)
type EtfRow = (&'static str, &'static str, &'static str, Option<usize>, f64, f64, f64);
const ETFS: [EtfRow; 6] = [
    ("BMKT", "Broad Market Index ETF", "Broad Market", None, 412.50, 1.00, 0.02),
    ("TECQ", "Technology Select ETF", "Technology", Some(0), 168.20, 1.20, 0.04),
    ("FINX", "Financials Select ETF", "Financials", Some(1), 38.60, 1.05, 0.04),
    ("NRGY", "Energy Select ETF", "Energy", Some(3), 52.75, 0.95, 0.05),
    ("UTLX", "Utilities Select ETF", "Utilities", Some(6), 64.10, 0.45, 0.03),
    ("SMCP", "Small Cap Index ETF", "Small Caps", None, 198.40, 1.20, 0.06),
];

/// (symbol, name, start price, beta to the crypto factor, idiosyncratic vol, lot size, base volume)
const CRYPTO: [(&str, &str, f64, f64, f64, f64, f64); 8] = [
    ("BTC-USD", "Bitcoin", 29_350.0, 1.00, 0.25, 0.0001, 28_000.0),
    ("ETH-USD", "Ether", 730.0, 1.15, 0.35, 0.001, 410_000.0),
    ("SOL-USD", "Solana", 1.85, 1.50, 0.70, 0.01, 9_000_000.0),
    ("ADA-USD", "Cardano", 0.18, 1.30, 0.55, 1.0, 300_000_000.0),
    ("XRP-USD", "XRP", 0.22, 1.20, 0.60, 1.0, 900_000_000.0),
    ("DOGE-USD", "Dogecoin", 0.0047, 1.40, 0.85, 1.0, 2_500_000_000.0),
    ("LTC-USD", "Litecoin", 126.0, 1.05, 0.40, 0.001, 1_200_000.0),
    ("AVAX-USD", "Avalanche", 3.60, 1.45, 0.70, 0.01, 6_000_000.0),
];

/// The instruments at `scale`: all base instruments at scale 1 (54), a subset below, synthetic equities above.
pub fn instruments(scale: f64) -> Vec<Instrument> {
    let mut all = base_instruments();
    let target = ((all.len() as f64) * scale).round().max(6.0) as usize;
    if target <= all.len() {
        // Keep the mix: take every k-th instrument rather than the first few.
        let step = all.len() as f64 / target as f64;
        return (0..target).map(|i| all[(i as f64 * step) as usize].clone()).collect();
    }
    let extra = target - all.len();
    for i in 0..extra {
        let sector_index = i % SECTORS.len();
        let (_, _, _, price, beta, vol) = EQUITIES[i % EQUITIES.len()];
        let n = i / SECTORS.len() + 1;
        all.push(Instrument {
            symbol: format!("{}{n:03}", &SECTORS[sector_index][..3].to_ascii_uppercase()),
            name: format!("Synthetic {} Co. {n}", SECTORS[sector_index]),
            class: AssetClass::Equity,
            sector: SECTORS[sector_index],
            exchange: if i % 2 == 0 { "NYSE" } else { "NASDAQ" },
            lot_size: 1.0,
            start_price: price * (0.6 + 0.8 * ((i * 37 % 100) as f64 / 100.0)),
            drift: 0.06,
            vol,
            beta,
            sector_index: Some(sector_index),
            base_volume: 1_500_000.0,
        });
    }
    all
}

fn base_instruments() -> Vec<Instrument> {
    let equities = EQUITIES.iter().enumerate().map(|(i, &(symbol, name, sector, price, beta, vol))| Instrument {
        symbol: symbol.into(),
        name: name.into(),
        class: AssetClass::Equity,
        sector: SECTORS[sector],
        exchange: if i % 3 == 0 { "NYSE" } else { "NASDAQ" },
        lot_size: 1.0,
        start_price: price,
        drift: 0.04 + 0.01 * (i % 7) as f64,
        vol,
        beta,
        sector_index: Some(sector),
        base_volume: 4_000_000.0 / (1.0 + (i % 5) as f64),
    });
    let etfs = ETFS.iter().map(|&(symbol, name, theme, sector, price, beta, vol)| Instrument {
        symbol: symbol.into(),
        name: name.into(),
        class: AssetClass::Etf,
        sector: theme,
        exchange: "NYSE Arca",
        lot_size: 1.0,
        start_price: price,
        drift: 0.07,
        vol,
        beta,
        sector_index: sector,
        base_volume: 12_000_000.0,
    });
    let crypto = CRYPTO.iter().map(|&(symbol, name, price, beta, vol, lot, volume)| Instrument {
        symbol: symbol.into(),
        name: name.into(),
        class: AssetClass::Crypto,
        sector: "Digital Assets",
        exchange: "CRYPTO",
        lot_size: lot,
        start_price: price,
        drift: 0.15,
        vol,
        beta,
        sector_index: None,
        base_volume: volume,
    });
    equities.chain(etfs).chain(crypto).collect()
}

/// Price increment for a price level (so cheap coins keep meaningful decimals).
pub fn tick_for(class: AssetClass, price: f64) -> f64 {
    match class {
        AssetClass::Equity | AssetClass::Etf => 0.01,
        AssetClass::Crypto if price >= 100.0 => 0.01,
        AssetClass::Crypto if price >= 1.0 => 0.0001,
        AssetClass::Crypto => 0.000001,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn default_scale_has_at_least_50_unique_symbols_in_three_classes() {
        let all = instruments(1.0);
        assert!(all.len() >= 50);
        let symbols: HashSet<_> = all.iter().map(|i| i.symbol.clone()).collect();
        assert_eq!(symbols.len(), all.len());
        for class in [AssetClass::Equity, AssetClass::Etf, AssetClass::Crypto] {
            assert!(all.iter().any(|i| i.class == class));
        }
    }

    #[test]
    fn scale_ten_adds_unique_synthetic_equities_and_small_scales_keep_the_mix() {
        let big = instruments(10.0);
        assert_eq!(big.len(), 540);
        let symbols: HashSet<_> = big.iter().map(|i| i.symbol.clone()).collect();
        assert_eq!(symbols.len(), big.len());
        let small = instruments(0.2);
        assert!(small.iter().any(|i| i.class == AssetClass::Crypto));
        assert!(small.iter().any(|i| i.class == AssetClass::Equity));
    }
}
