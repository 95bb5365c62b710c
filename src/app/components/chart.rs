//! SVG charts from a chart spec: line, bar and candlestick, with axes (dates or categories on x, prices on y) and
//! hover values. Colours come from CSS variables, so both themes read well.
use leptos::prelude::*;

use super::{Plural, plural};
use crate::api::{ChartKind, ChartSpec};
use crate::app::locale::{Locale, t_string, tr, use_i18n};

const W: f64 = 640.0;
const H: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

/// Nice round tick values covering `[min, max]`.
fn ticks(min: f64, max: f64, count: usize) -> Vec<f64> {
    if !(min.is_finite() && max.is_finite()) || max <= min {
        return vec![min];
    }
    let raw = (max - min) / count as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    let first = (min / step).ceil() * step;
    (0..=count + 1).map(|i| first + i as f64 * step).take_while(|v| *v <= max + step * 1e-9).collect()
}

/// A number for an axis label or tooltip.
pub fn fmt_number(v: f64) -> String {
    let abs = v.abs();
    if abs >= 1e9 {
        format!("{:.2}B", v / 1e9)
    } else if abs >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if abs >= 1000.0 {
        format!("{v:.0}")
    } else if abs >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The y range of the spec (all series; candlesticks use low/high).
fn y_range(spec: &ChartSpec) -> (f64, f64) {
    let values = spec.series.iter().flat_map(|s| s.values.iter().flatten().copied());
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if spec.kind == ChartKind::Bar {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if lo == hi {
        lo -= 1.0;
        hi += 1.0;
    }
    let pad = (hi - lo) * 0.05;
    (if spec.kind == ChartKind::Bar && lo >= 0.0 { lo } else { lo - pad }, hi + pad)
}

/// [`Chart`] in a WASM chunk of its own, fetched the first time a step's chart is drawn (the chat page renders none
/// on the server: a stored step's chart loads on a click).
#[leptos::lazy]
pub fn deferred_chart(spec: ChartSpec) -> AnyView {
    view! { <Chart spec /> }.into_any()
}

/// A chart.
#[component]
pub fn Chart(spec: ChartSpec) -> impl IntoView {
    let i18n = use_i18n();
    let n = spec.x.len();
    let (lo, hi) = y_range(&spec);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = if n > 0 { plot_w / n as f64 } else { plot_w };
    let x_at = move |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y_at = move |v: f64| TOP + plot_h * (1.0 - (v - lo) / (hi - lo));
    let hovered = RwSignal::new(None::<usize>);
    let series_of = |name: &str| spec.series.iter().find(|s| s.name.eq_ignore_ascii_case(name));

    let y_ticks = ticks(lo, hi, 5);
    let grid = y_ticks
        .iter()
        .map(|v| {
            let y = y_at(*v);
            view! {
                <g class="tick">
                    <line x1=LEFT x2=W - RIGHT y1=y y2=y class="grid" />
                    <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{fmt_number(*v)}</text>
                </g>
            }
        })
        .collect_view();
    let label_every = (n / 6).max(1);
    let x_labels = spec
        .x
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every == 0)
        .map(|(i, x)| view! { <text x=x_at(i) y=H - BOTTOM + 18.0 text-anchor="middle">{x.clone()}</text> })
        .collect_view();

    let marks = match spec.kind {
        ChartKind::Line => spec
            .series
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let points: String = s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x_at(i), y_at(v))))
                    .collect::<Vec<_>>()
                    .join(" ");
                view! { <polyline points=points class=format!("series s{}", si % 6) fill="none" /> }.into_any()
            })
            .collect_view()
            .into_any(),
        ChartKind::Bar => {
            let count = spec.series.len().max(1) as f64;
            let bar_w = (slot * 0.8 / count).max(1.0);
            spec.series
                .iter()
                .enumerate()
                .flat_map(|(si, s)| {
                    s.values
                        .iter()
                        .enumerate()
                        .filter_map(move |(i, v)| v.map(|v| (si, i, v)))
                        .collect::<Vec<_>>()
                })
                .map(|(si, i, v)| {
                    let (y0, y1) = (y_at(0f64.max(lo)), y_at(v));
                    let x = x_at(i) - slot * 0.4 + bar_w * si as f64;
                    view! { <rect x=x y=y0.min(y1) width=bar_w height=(y0 - y1).abs().max(0.5) class=format!("bar s{}", si % 6) /> }
                })
                .collect_view()
                .into_any()
        }
        ChartKind::Candlestick => {
            let (o, h, l, c) = (series_of("open"), series_of("high"), series_of("low"), series_of("close"));
            match (o, h, l, c) {
                (Some(o), Some(h), Some(l), Some(c)) => (0..n)
                    .filter_map(|i| Some((i, o.values[i]?, h.values[i]?, l.values[i]?, c.values[i]?)))
                    .map(|(i, o, h, l, c)| {
                        let class = if c >= o { "candle up" } else { "candle down" };
                        let body_w = (slot * 0.6).max(1.0);
                        view! {
                            <g class=class>
                                <line x1=x_at(i) x2=x_at(i) y1=y_at(h) y2=y_at(l) />
                                <rect x=x_at(i) - body_w / 2.0 y=y_at(o.max(c)) width=body_w height=(y_at(o.min(c)) - y_at(o.max(c))).max(0.8) />
                            </g>
                        }
                    })
                    .collect_view()
                    .into_any(),
                _ => view! { <text x=LEFT y=TOP + 20.0>{tr!(i18n, components.chart_candlestick_needs_ohlc)}</text> }.into_any(),
            }
        }
    };

    let tooltip_spec = spec.clone();
    let tooltip = move || {
        hovered.get().map(|i| {
            let lines: Vec<String> = tooltip_spec
                .series
                .iter()
                .map(|s| format!("{}: {}", s.name, s.values.get(i).copied().flatten().map_or("–".into(), fmt_number)))
                .collect();
            let x = x_at(i);
            let anchor_right = x > W / 2.0;
            let tx = if anchor_right { x - 8.0 } else { x + 8.0 };
            view! {
                <g class="hover">
                    <line x1=x x2=x y1=TOP y2=H - BOTTOM />
                    <text x=tx y=TOP + 14.0 text-anchor=if anchor_right { "end" } else { "start" }>
                        <tspan class="hover-x">{tooltip_spec.x.get(i).cloned().unwrap_or_default()}</tspan>
                        {lines
                            .into_iter()
                            .map(|line| view! { <tspan x=tx dy="1.2em">{line}</tspan> })
                            .collect_view()}
                    </text>
                </g>
            }
        })
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(target) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                let rect = target.get_bounding_client_rect();
                let x = (f64::from(ev.client_x()) - rect.left()) / rect.width() * W;
                let i = ((x - LEFT) / slot).floor();
                hovered.set((i >= 0.0 && (i as usize) < n).then_some(i as usize));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let legend = spec
        .series
        .iter()
        .enumerate()
        .filter(|_| spec.kind != ChartKind::Candlestick)
        .map(|(si, s)| view! { <span class=format!("legend-item s{}", si % 6)>{s.name.clone()}</span> })
        .collect_view();
    let (kind, title) = (spec.kind, spec.title.clone());
    let aria = move || {
        let points = match plural(i18n.get_locale(), n as u64) {
            Plural::One => t_string!(i18n, components.chart_points_one),
            Plural::Few => t_string!(i18n, components.chart_points_few),
            Plural::Many => t_string!(i18n, components.chart_points_many),
        };
        format!("{}: {title}, {n} {points}", kind_label(i18n, kind))
    };
    view! {
        <figure class="chart">
            <figcaption>
                <strong>{spec.title.clone()}</strong>
                <span class="legend">{legend}</span>
            </figcaption>
            <svg
                viewBox=format!("0 0 {W} {H}")
                role="img"
                aria-label=aria
                on:mousemove=on_move
                on:mouseleave=move |_| hovered.set(None)
            >
                {grid}
                <line x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM class="axis" />
                {x_labels}
                {marks}
                {tooltip}
            </svg>
        </figure>
    }
}

/// "Line chart" and so on, for the chart's accessible name.
fn kind_label(i18n: leptos_i18n::I18nContext<Locale>, kind: ChartKind) -> &'static str {
    match kind {
        ChartKind::Line => t_string!(i18n, components.chart_line),
        ChartKind::Bar => t_string!(i18n, components.chart_bar),
        ChartKind::Candlestick => t_string!(i18n, components.chart_candlestick),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = ticks(101.3, 187.9, 5);
        assert!(t.len() >= 4 && t.len() <= 7, "{t:?}");
        assert!(t.iter().all(|v| (v / 20.0).fract().abs() < 1e-9), "{t:?}");
        assert!(t[0] >= 101.3 && *t.last().expect("last") <= 187.9);
        assert_eq!(fmt_number(1_234_567.0), "1.23M");
        assert_eq!(fmt_number(0.123456), "0.1235");
    }
}
