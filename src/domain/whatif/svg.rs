//! The sweep's chart: the fund's cost (left axis, yuan) and the policy-scope inpatient ratio
//! (right axis, %) against the swept value, with the 75 % target as a dashed line. Plain SVG,
//! no script: it opens in a browser and embeds in the summary.
use super::TARGET_RATIO_PERCENT;
use rust_decimal::Decimal;
use std::fmt::Write;

/// One point: the swept value, the fund's cost in fen, the ratio in basis points.
pub type Point = (Decimal, i128, Option<i128>);

const W: f64 = 720.0;
const H: f64 = 400.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Coordinates for drawing only: the figures themselves are in the table beside the chart.
fn f(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

pub fn sweep_chart(key: &str, points: &[Point]) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-family="sans-serif" font-size="12" role="img" aria-label="基金支出与政策范围内住院报销比例 / fund cost and policy-scope inpatient ratio: {k}">"##,
        k = escape(key)
    );
    let _ = write!(
        svg,
        r##"<rect width="{W}" height="{H}" fill="#fff"/><text x="{x}" y="22" text-anchor="middle" font-size="14">{k}</text>"##,
        x = W / 2.0,
        k = escape(key)
    );
    if points.is_empty() {
        svg.push_str("</svg>\n");
        return svg;
    }
    let xs: Vec<f64> = points.iter().map(|p| f(p.0)).collect();
    let costs: Vec<f64> = points.iter().map(|p| p.1 as f64 / 100.0).collect();
    let (x_lo, x_hi) = bounds(&xs);
    let (c_lo, c_hi) = bounds(&costs);
    let (plot_w, plot_h) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x_lo) / (x_hi - x_lo) * plot_w;
    let sy = |c: f64| TOP + plot_h - (c - c_lo) / (c_hi - c_lo) * plot_h;
    // The ratio axis runs 0-100 %.
    let sr = |bp: f64| TOP + plot_h - bp / 10_000.0 * plot_h;
    let _ = write!(
        svg,
        r##"<g stroke="#999"><line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}"/><line x1="{r}" y1="{TOP}" x2="{r}" y2="{b}"/></g>"##,
        b = TOP + plot_h,
        r = LEFT + plot_w
    );
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{y}" text-anchor="middle">{v}</text>"##,
            x = sx(xs[i]),
            y = TOP + plot_h + 18.0,
            v = p.0.normalize()
        );
    }
    for c in [c_lo, (c_lo + c_hi) / 2.0, c_hi] {
        let _ = write!(
            svg,
            r##"<text x="{x}" y="{y:.1}" text-anchor="end" fill="#1f5fa8">{c:.0}</text>"##,
            x = LEFT - 6.0,
            y = sy(c) + 4.0
        );
    }
    for pct in [0, 25, 50, 75, 100] {
        let _ = write!(
            svg,
            r##"<text x="{x}" y="{y:.1}" fill="#b8561a">{pct}%</text>"##,
            x = LEFT + plot_w + 6.0,
            y = sr(f64::from(pct) * 100.0) + 4.0
        );
    }
    let target = sr(f64::from(TARGET_RATIO_PERCENT) * 100.0);
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{target:.1}" x2="{r}" y2="{target:.1}" stroke="#b8561a" stroke-dasharray="6 4"/><text x="{tx}" y="{ty:.1}" fill="#b8561a">目标 target {TARGET_RATIO_PERCENT}%</text>"##,
        r = LEFT + plot_w,
        tx = LEFT + 6.0,
        ty = target - 6.0
    );
    let cost_line: Vec<String> = xs
        .iter()
        .zip(&costs)
        .map(|(x, c)| format!("{:.1},{:.1}", sx(*x), sy(*c)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{}"/>"##,
        cost_line.join(" ")
    );
    let ratio_line: Vec<String> = xs
        .iter()
        .zip(points)
        .filter_map(|(x, p)| p.2.map(|bp| format!("{:.1},{:.1}", sx(*x), sr(bp as f64))))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#b8561a" stroke-width="2" points="{}"/>"##,
        ratio_line.join(" ")
    );
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="{y}" fill="#1f5fa8">基金支出（元） fund cost (yuan)</text><text x="{r}" y="{y}" text-anchor="end" fill="#b8561a">政策范围内住院报销比例 inpatient ratio</text></svg>"##,
        y = H - 12.0,
        r = LEFT + plot_w
    );
    svg.push('\n');
    svg
}

/// Diverging bars of a change in fen (the residents' out-of-pocket deciles): above the line
/// pays more, below pays less; each bar carries its amount in yuan as a tooltip (the page's
/// table beside it has the figures). Narrow enough that its labels stay legible on a phone.
pub fn change_chart(title: &str, labels: &[String], changes: &[i64]) -> String {
    let (w, h, mid, half) = (300.0_f64, 180.0_f64, 84.0_f64, 62.0_f64);
    let mut svg = format!(
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title><line x1="10" y1="{mid}" x2="{x2}" y2="{mid}" stroke="#999"/>"##,
        t = escape(title),
        x2 = w - 10.0
    );
    let largest = changes
        .iter()
        .map(|c| c.unsigned_abs())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (w - 20.0) / changes.len().max(1) as f64;
    for (i, (c, label)) in changes.iter().zip(labels).enumerate() {
        let x = 10.0 + slot * i as f64;
        let len = (c.unsigned_abs() as f64 / largest) * half;
        let (y, class) = if *c >= 0 {
            (mid - len, "s4")
        } else {
            (mid, "s1")
        };
        let amount = crate::domain::money::Fen(*c).yuan_text();
        let _ = write!(
            svg,
            r##"<rect x="{bx:.1}" y="{y:.1}" width="{bw:.1}" height="{len:.1}" class="{class}"><title>{l}: {amount}</title></rect><text class="axis" x="{tx:.1}" y="{ly}" text-anchor="middle">{l}</text>"##,
            bx = x + slot * 0.15,
            bw = slot * 0.7,
            l = escape(label),
            tx = x + slot * 0.5,
            ly = h - 8.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The range of the values, widened when flat so that a constant series draws mid-height.
fn bounds(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if (hi - lo).abs() < f64::EPSILON {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_chart_draws_both_series_and_the_target() {
        let svg = sweep_chart(
            "inpatient.categories.county.deductible",
            &[
                (dec!(600), 1_000_000, Some(7600)),
                (dec!(900), 900_000, Some(7400)),
                (dec!(1200), 800_000, None),
            ],
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(
            svg.contains("target 75%") && svg.contains(">1200<"),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
