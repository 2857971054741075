//! The experiments' figures as SVG text: the page's Experiments panel shows
//! them (its worker draws them, so the page's own wasm carries no plotting
//! code), and they are plain functions of the results, tested here.
//!
//! A figure is one `<svg>` of stacked panels, each with its axes (units in
//! the labels, log scales marked), a legend and one `<path data-series="…">`
//! per curve. Sizes are in the figure's own units (`viewBox`): it scales to
//! its box, and its text stays large enough for a projector at any width
//! over about 600 px.

use crate::experiment::{range_name, ReplicaPoint, CENSOR_MS};
use std::fmt::Write;

/// One axis: its label (with its unit) and range; a log axis needs `min > 0`.
#[derive(Clone, Debug)]
pub struct Axis {
    pub label: String,
    pub min: f64,
    pub max: f64,
    pub log: bool,
}

impl Axis {
    /// Where `v` falls, from 0 (min) to 1 (max), clamped to the axis.
    fn unit(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(self.min).ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        f.clamp(0.0, 1.0)
    }

    /// Tick values: the powers of ten on a log axis; 1, 2 or 5 × 10ⁿ steps
    /// (about five of them) on a linear one.
    fn ticks(&self) -> Vec<f64> {
        let mut t = Vec::new();
        if self.log {
            let mut v = 10f64.powf(self.min.log10().ceil());
            while v <= self.max * 1.000_001 {
                t.push(v);
                v *= 10.0;
            }
        } else {
            let raw = (self.max - self.min) / 5.0;
            let p = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0]
                .into_iter()
                .map(|m| m * p)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * p);
            let mut v = (self.min / step).ceil() * step;
            while v <= self.max + step * 1e-9 {
                t.push(v);
                v += step;
            }
        }
        t
    }
}

/// One curve: `series` names it in the SVG (`data-series`), `label` in the
/// legend. Points in data units, drawn in order.
#[derive(Clone, Debug)]
pub struct Curve {
    pub series: String,
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Dots at the points (for a few measured points joined by lines).
    pub markers: bool,
}

#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub curves: Vec<Curve>,
}

/// Colours that stay apart for colour-blind readers (Okabe and Ito), one per
/// curve of a panel in turn.
const COLOURS: [&str; 7] = [
    "#000000", "#e69f00", "#56b4e9", "#009e73", "#0072b2", "#d55e00", "#cc79a7",
];

const WIDTH: f64 = 800.0;
const PANEL_HEIGHT: f64 = 310.0;
const LEFT: f64 = 88.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 62.0;

/// The figure: `panels` stacked, `note` (e.g. the settings, or what is
/// still running) under them, a line per `; `-separated part.
pub fn svg(panels: &[Panel], note: &str) -> String {
    let lines: Vec<&str> = note.split("; ").filter(|l| !l.is_empty()).collect();
    let height = PANEL_HEIGHT * panels.len() as f64 + 20.0 * lines.len() as f64 + 8.0;
    let mut s = String::with_capacity(16 * 1024);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-testid="experiment-plot" viewBox="0 0 {WIDTH} {height}" role="img" font-size="20" font-family="sans-serif">"#
    );
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut s, panel, i as f64 * PANEL_HEIGHT);
    }
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{LEFT}" y="{}" font-size="16" fill="#444">{}</text>"##,
            PANEL_HEIGHT * panels.len() as f64 + 12.0 + 20.0 * i as f64,
            escape(line)
        );
    }
    s.push_str("</svg>");
    s
}

fn draw_panel(s: &mut String, p: &Panel, top: f64) {
    let (x0, x1) = (LEFT, WIDTH - RIGHT);
    let (y0, y1) = (top + PANEL_HEIGHT - BOTTOM, top + TOP);
    let px = |v: f64| x0 + (x1 - x0) * p.x.unit(v);
    let py = |v: f64| y0 - (y0 - y1) * p.y.unit(v);
    let _ = write!(
        s,
        r#"<text x="{x0}" y="{}" font-weight="bold">{}</text>"#,
        top + 22.0,
        escape(&p.title)
    );
    // The frame, then each axis's grid lines and tick labels.
    let _ = write!(
        s,
        r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#888"/>"##,
        x1 - x0,
        y0 - y1
    );
    for v in p.x.ticks() {
        let x = px(v);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{y0}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y0 + 23.0,
            number(v)
        );
    }
    for v in p.y.ticks() {
        let y = py(v);
        let _ = write!(
            s,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 6.0,
            y + 5.0,
            number(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        y0 + 50.0,
        escape(&axis_label(&p.x))
    );
    let _ = write!(
        s,
        r#"<text transform="translate({},{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        18.0,
        (y0 + y1) / 2.0,
        escape(&axis_label(&p.y))
    );
    for (i, c) in p.curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if !c.points.is_empty() {
            let pixels: Vec<(f64, f64)> = c.points.iter().map(|&(x, y)| (px(x), py(y))).collect();
            let mut d = String::with_capacity(pixels.len() * 14);
            for (j, (x, y)) in simplify(&pixels).into_iter().enumerate() {
                let _ = write!(d, "{}{x:.1} {y:.1}", if j == 0 { "M" } else { "L" });
            }
            let _ = write!(
                s,
                r#"<path data-series="{}" d="{d}" fill="none" stroke="{colour}" stroke-width="2.5"/>"#,
                escape(&c.series)
            );
            if c.markers {
                for &(x, y) in &c.points {
                    let _ = write!(
                        s,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"/>"#,
                        px(x),
                        py(y)
                    );
                }
            }
        }
        // The legend names every curve, drawn yet or not.
        let ly = y1 + 12.0 + 27.0 * i as f64;
        let _ = write!(
            s,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="4"/><text x="{}" y="{}">{}</text>"#,
            x1 + 12.0,
            x1 + 40.0,
            x1 + 46.0,
            ly + 5.0,
            escape(&c.label)
        );
    }
}

/// A polyline with what a screen cannot show taken out: points snapped to
/// half a unit, repeats dropped, and the middle points of a run along one
/// vertical or horizontal line (a CDF of 1000 trials has 2000 corners, most
/// of them closer than a pixel).
fn simplify(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let snap = |v: f64| (v * 2.0).round() / 2.0;
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for &(x, y) in points {
        let p = (snap(x), snap(y));
        if out.last() == Some(&p) {
            continue;
        }
        if let [.., a, b] = out[..] {
            if (a.0 == b.0 && b.0 == p.0) || (a.1 == b.1 && b.1 == p.1) {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

fn axis_label(a: &Axis) -> String {
    if a.log {
        format!("{} (log scale)", a.label)
    } else {
        a.label.clone()
    }
}

/// A tick label: whole numbers with thin spaces between thousands.
fn number(v: f64) -> String {
    if v.fract().abs() > 1e-9 {
        return format!("{v}");
    }
    let digits = format!("{}", v.round() as i64);
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 && ch.is_ascii_digit() {
            out.push('\u{2009}');
        }
        out.push(ch);
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The cumulative distribution of downtimes as a step curve: the share of
/// all `trials` (in %) that had a leader again by each time. Censored trials
/// (`None`) count in the total but never arrive: such a curve runs on flat,
/// below 100 %, to the cut-off ([`CENSOR_MS`]) — a range where no trial
/// elected a leader is a flat line at 0 %. No trials yet: no curve.
pub fn cdf_points(downtimes_ms: &[Option<u64>]) -> Vec<(f64, f64)> {
    let mut d: Vec<u64> = downtimes_ms.iter().flatten().copied().collect();
    d.sort_unstable();
    let n = downtimes_ms.len() as f64;
    let mut points = Vec::with_capacity(2 * d.len() + 2);
    let mut below = 0.0;
    for (i, &t) in d.iter().enumerate() {
        // Equal times make one vertical step.
        if d.get(i + 1) == Some(&t) {
            continue;
        }
        let at = 100.0 * (i + 1) as f64 / n;
        points.push((t as f64, below));
        points.push((t as f64, at));
        below = at;
    }
    if d.len() < downtimes_ms.len() {
        if points.is_empty() {
            points.push((1.0, 0.0));
        }
        points.push((CENSOR_MS as f64, below));
    }
    points
}

/// A timeout range (ms) and the downtimes of its trials so far (`None`:
/// censored).
pub type RangeDowntimes = ((u64, u64), Vec<Option<u64>>);

/// The paper's Figure 16 from the election trials so far: `results` holds
/// each timeout range's downtimes (`None`: censored). Ranges starting at
/// 150 ms go in the top panel, the others in the bottom one, as in the paper.
pub fn elections_figure(results: &[RangeDowntimes], note: &str) -> String {
    let axis_x = Axis {
        label: "time without a leader (ms)".into(),
        min: 10.0,
        max: (CENSOR_MS * 5) as f64,
        log: true,
    };
    let axis_y = Axis {
        label: "trials with a leader (%)".into(),
        min: 0.0,
        max: 100.0,
        log: false,
    };
    let panel = |title: &str, top: bool| Panel {
        title: title.into(),
        x: axis_x.clone(),
        y: axis_y.clone(),
        curves: results
            .iter()
            .filter(|(r, _)| (r.0 == 150) == top)
            .map(|(r, d)| Curve {
                series: range_name(*r),
                label: format!("{} ms", range_name(*r)),
                points: cdf_points(d),
                markers: false,
            })
            .collect(),
    };
    svg(
        &[
            panel("Election timeouts from 150 ms: how much randomness", true),
            panel("Shorter timeouts: how fast a leader can return", false),
        ],
        note,
    )
}

/// The replicas experiment as lines, one per cluster size: commit latency
/// (median, then 99th percentile) against committed messages per second,
/// each point one offered load.
pub fn replicas_figure(points: &[ReplicaPoint], note: &str) -> String {
    let mut sizes: Vec<u32> = points.iter().map(|p| p.nodes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let axis_x = Axis {
        label: "committed chat messages per second".into(),
        min: 10.0,
        max: 10_000.0,
        log: true,
    };
    let panel = |title: &str, suffix: &str, latency: fn(&ReplicaPoint) -> u64| Panel {
        title: title.into(),
        x: axis_x.clone(),
        y: Axis {
            label: "commit latency (ms)".into(),
            min: 1.0,
            max: 10_000.0,
            log: true,
        },
        curves: sizes
            .iter()
            .map(|&n| Curve {
                series: format!("{n}{suffix}"),
                label: format!("{n} node{}", if n == 1 { "" } else { "s" }),
                points: points
                    .iter()
                    .filter(|p| p.nodes == n)
                    .map(|p| (p.messages_per_s, latency(p).max(1) as f64))
                    .collect(),
                markers: true,
            })
            .collect(),
    };
    svg(
        &[
            panel("Median commit latency by cluster size", "", |p| {
                p.latency_p50_ms
            }),
            panel("99th percentile commit latency", "-p99", |p| {
                p.latency_p99_ms
            }),
        ],
        note,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cdf_steps_up_by_each_trial_and_runs_flat_to_the_cut_off_when_some_are_censored() {
        let p = cdf_points(&[Some(300), Some(100), None, Some(100)]);
        assert_eq!(
            p,
            vec![
                (100.0, 0.0),
                (100.0, 50.0),
                (300.0, 50.0),
                (300.0, 75.0),
                (20_000.0, 75.0)
            ]
        );
        assert_eq!(cdf_points(&[None, None]), vec![(1.0, 0.0), (20_000.0, 0.0)]);
        assert_eq!(cdf_points(&[Some(5)]), vec![(5.0, 0.0), (5.0, 100.0)]);
        assert!(cdf_points(&[]).is_empty());
    }

    #[test]
    fn lines_lose_only_what_a_screen_cannot_show() {
        let steps = [
            (1.0, 0.0),
            (1.0, 1.0),
            (1.1, 1.0),
            (1.1, 2.0),
            (5.0, 2.0),
            (5.0, 3.0),
        ];
        // 1.0 and 1.1 snap to the same column: one vertical run from 0 to 2.
        assert_eq!(
            simplify(&steps),
            vec![(1.0, 0.0), (1.0, 2.0), (5.0, 2.0), (5.0, 3.0)]
        );
        let many: Vec<(f64, f64)> = (0..2000)
            .map(|i| (100.0 + (i / 2) as f64 * 0.01, ((i + 1) / 2) as f64 * 0.1))
            .collect();
        assert!(simplify(&many).len() < 100, "{}", simplify(&many).len());
    }

    #[test]
    fn ticks_are_powers_of_ten_or_round_steps() {
        let log = Axis {
            label: String::new(),
            min: 10.0,
            max: 100_000.0,
            log: true,
        };
        assert_eq!(log.ticks(), vec![10.0, 100.0, 1e3, 1e4, 1e5]);
        let lin = Axis {
            label: String::new(),
            min: 0.0,
            max: 100.0,
            log: false,
        };
        assert_eq!(lin.ticks(), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(log.unit(10.0), 0.0);
        assert_eq!(log.unit(1e6), 1.0);
        assert!((log.unit(1000.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_elections_figure_has_a_path_per_range_with_results() {
        let results: Vec<_> = crate::experiment::PAPER_RANGES
            .iter()
            .map(|&r| {
                (
                    r,
                    if r == (150, 150) {
                        vec![]
                    } else {
                        vec![Some(r.1), None]
                    },
                )
            })
            .collect();
        let svg = elections_figure(&results, "a < b");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<path data-series=").count(), 9);
        assert!(svg.contains(r#"data-series="150-155""#));
        assert!(!svg.contains(r#"data-series="150-150""#));
        // The legend still names the range with no results yet.
        assert!(svg.contains(">150-150 ms<"));
        assert!(svg.contains("a &lt; b"));
        assert!(svg.contains("(log scale)"));
        assert!(svg.contains("10\u{2009}000"));
    }

    #[test]
    fn the_replicas_figure_has_a_line_per_cluster_size() {
        let point = |nodes, rate: f64, p50| ReplicaPoint {
            nodes,
            latency_p50_ms: p50,
            latency_p99_ms: p50 * 3,
            messages_per_s: rate,
        };
        let pts = vec![
            point(1, 100.0, 2),
            point(1, 1000.0, 3),
            point(5, 100.0, 40),
            point(5, 1000.0, 50),
        ];
        let svg = replicas_figure(&pts, "");
        assert!(svg.contains(r#"data-series="1""#) && svg.contains(r#"data-series="5""#));
        assert!(svg.contains(r#"data-series="5-p99""#));
        assert_eq!(svg.matches("<path ").count(), 4);
        assert_eq!(svg.matches("<circle ").count(), 8);
    }
}
