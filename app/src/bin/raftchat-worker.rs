//! The Experiments panel's worker: runs an experiment's seeded trials off the
//! page's thread (the cluster view keeps its frames), and posts its progress,
//! the figure (SVG text drawn by `raftchat_core::plot`), the CSV and, at the
//! end, trials worth opening as runs. The page's own wasm carries none of
//! this: trunk builds this binary as a worker of its own
//! (`data-type="worker"` in `index.html`).
//!
//! First the worker posts `{ready: true}`; then the page sends its request:
//! `{kind: "elections" | "replicas", trials, seed, network}`.
//! Replies: `{html, csv}`: the panel's results as HTML (the progress bar
//! `experiment-progress`, at the end the trials to open, and the figure
//! `experiment-plot`) and the CSV so far; the last adds `finished: true` and
//! `recipes` (the JSON of each trial offered, in the order of the
//! `trial-choice` options); a failure is `{error}`. The page cancels by
//! terminating the worker. (The page's own wasm stays small: it shows this
//! HTML as it comes.)

use js_sys::{Array, Object, Reflect};
use raftchat_core::experiment::{
    self, range_name, ElectionTrial, Network, ReplicaPoint, ELECTIONS_CSV_HEADER, PAPER_RANGES,
    REPLICAS_CSV_HEADER, REPLICA_RATES, REPLICA_SIZES,
};
use raftchat_core::plot;
use std::fmt::Write;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Progress is posted at most this often (real ms), and at the end of each
/// range or load.
const POST_EVERY_MS: f64 = 100.0;
/// The most trials per range (or runs per load) a request may ask for.
const MAX_TRIALS: u32 = 10_000;

fn main() {
    // A panic is a bug: say where in the console (the page hears that the
    // worker stopped, through its error event).
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let out = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let mut post = Poster {
            scope: &out,
            last_ms: 0.0,
        };
        if let Err(why) = run(&e.data(), &mut post) {
            post.send(&[("error", why.into())]);
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // A request posted before this wasm was loaded would have been lost: the
    // page sends it when it hears this.
    Poster {
        scope: &scope,
        last_ms: 0.0,
    }
    .send(&[("ready", true.into())]);
}

struct Poster<'a> {
    scope: &'a DedicatedWorkerGlobalScope,
    last_ms: f64,
}

impl Poster<'_> {
    fn send(&mut self, fields: &[(&str, JsValue)]) {
        let o = Object::new();
        for (k, v) in fields {
            let _ = Reflect::set(&o, &(*k).into(), v);
        }
        let _ = self.scope.post_message(&o);
        self.last_ms = js_sys::Date::now();
    }

    /// Progress: `done` of `total`, the figure and the CSV so far (now, or
    /// only if the last post is older than [`POST_EVERY_MS`]).
    fn progress(
        &mut self,
        now: bool,
        done: u32,
        total: u32,
        figure: impl Fn() -> (String, String),
    ) {
        if now || js_sys::Date::now() - self.last_ms >= POST_EVERY_MS {
            let (svg, csv) = figure();
            self.send(&[
                ("html", results_html(done, total, &[], &svg).into()),
                ("csv", csv.into()),
            ]);
        }
    }

    /// The last reply: the results, and the trials offered to open
    /// (label, recipe JSON).
    fn finish(&mut self, total: u32, svg: &str, csv: String, trials: &[(String, String)]) {
        let labels: Vec<&str> = trials.iter().map(|t| t.0.as_str()).collect();
        let recipes: Array = trials.iter().map(|t| JsValue::from(&t.1)).collect();
        self.send(&[
            ("html", results_html(total, total, &labels, svg).into()),
            ("csv", csv.into()),
            ("recipes", recipes.into()),
            ("finished", true.into()),
        ]);
    }
}

/// The panel's results: progress, the trials to open (`labels`: our own
/// text, no markup), the figure.
fn results_html(done: u32, total: u32, labels: &[&str], svg: &str) -> String {
    let mut h = String::with_capacity(svg.len() + 1024);
    let _ = write!(
        h,
        r#"<p class="experiment-status"><progress data-testid="experiment-progress" data-done="{done}" data-total="{total}" max="{total}" value="{done}"></progress> {done} of {total} trials{}</p>"#,
        if done < total { " (running)" } else { "" }
    );
    if !labels.is_empty() {
        h.push_str(r#"<form class="experiment-form" data-open-trial=""><label>Open a trial as a run <select data-testid="trial-choice">"#);
        for (i, label) in labels.iter().enumerate() {
            let _ = write!(h, r#"<option value="{i}">{label}</option>"#);
        }
        h.push_str(r#"</select></label> <button type="submit" data-testid="open-trial">Open</button></form>"#);
    }
    h.push_str(r#"<div class="plot-box">"#);
    h.push_str(svg);
    h.push_str("</div>");
    h
}

fn field(data: &JsValue, name: &str) -> JsValue {
    Reflect::get(data, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn run(request: &JsValue, post: &mut Poster) -> Result<(), String> {
    let trials = field(request, "trials")
        .as_f64()
        .filter(|t| t.fract() == 0.0 && (1.0..=MAX_TRIALS as f64).contains(t))
        .ok_or(format!("the number of trials must be 1 to {MAX_TRIALS}"))? as u32;
    let seed = field(request, "seed")
        .as_f64()
        .filter(|s| s.fract() == 0.0 && *s >= 0.0)
        .ok_or("the seed must be a whole number")? as u64;
    let network = field(request, "network").as_string();
    match field(request, "kind").as_string().as_deref() {
        Some("elections") => elections(
            trials,
            seed,
            Network::from_name(network.as_deref().unwrap_or("paper"))?,
            post,
        ),
        Some("replicas") => replicas(
            trials,
            seed,
            Network::from_name(network.as_deref().unwrap_or("default"))?,
            post,
        ),
        _ => Err("unknown experiment (use elections or replicas)".into()),
    }
}

fn elections(trials: u32, seed: u64, network: Network, post: &mut Poster) -> Result<(), String> {
    let total = trials * PAPER_RANGES.len() as u32;
    let note = format!(
        "{trials} trials per range, seed {seed}; {}",
        network.describe()
    );
    let mut results: Vec<(_, Vec<ElectionTrial>)> = Vec::new();
    let figure = |results: &[(_, Vec<ElectionTrial>)]| {
        let curves: Vec<_> = results
            .iter()
            .map(|(r, ts)| (*r, ts.iter().map(|t| t.downtime_ms).collect()))
            .collect();
        let mut csv = String::from(ELECTIONS_CSV_HEADER);
        for t in results.iter().flat_map(|(_, ts)| ts) {
            csv.push('\n');
            csv.push_str(&t.csv_line());
        }
        csv.push('\n');
        (plot::elections_figure(&curves, &note), csv)
    };
    let mut done = 0;
    for range in PAPER_RANGES {
        results.push((range, Vec::with_capacity(trials as usize)));
        for trial in 0..trials {
            let t = experiment::election_trial(range, trial, network, seed)?;
            if let Some((_, ts)) = results.last_mut() {
                ts.push(t);
            }
            done += 1;
            post.progress(trial + 1 == trials, done, total, || figure(&results));
        }
    }
    // Trials worth opening: each range's slowest and its median.
    let mut choices = Vec::new();
    for (range, ts) in &results {
        let mut sorted: Vec<&ElectionTrial> = ts.iter().collect();
        sorted.sort_by_key(|t| t.downtime_ms.unwrap_or(u64::MAX));
        let picks = [
            ("slowest", sorted.last()),
            ("median", sorted.get(sorted.len() / 2)),
        ];
        for (what, t) in picks {
            let Some(t) = t else { continue };
            let time = t
                .downtime_ms
                .map_or("no leader in 20 s".to_string(), |d| format!("{d} ms"));
            let label = format!(
                "{} ms, {what}: {time} (trial {})",
                range_name(*range),
                t.trial
            );
            choices.push((label, t.recipe(network).to_json()));
        }
    }
    let (svg, csv) = figure(&results);
    post.finish(total, &svg, csv, &choices);
    Ok(())
}

/// Each cluster size at each offered load; `trials` runs (seeds) per point,
/// their latencies and throughput averaged.
fn replicas(trials: u32, seed: u64, network: Network, post: &mut Poster) -> Result<(), String> {
    let total = trials * (REPLICA_RATES.len() * REPLICA_SIZES.len()) as u32;
    let note = format!(
        "{trials} run{} per point, seed {seed}; {}",
        if trials == 1 { "" } else { "s" },
        network.describe()
    );
    let mut points: Vec<(f64, ReplicaPoint)> = Vec::new();
    let figure = |points: &[(f64, ReplicaPoint)]| {
        let mut csv = format!("offered_per_s,{REPLICAS_CSV_HEADER}");
        for (rate, p) in points {
            csv.push_str(&format!("\n{rate},{}", p.csv_line()));
        }
        csv.push('\n');
        let pts: Vec<_> = points.iter().map(|(_, p)| p.clone()).collect();
        (plot::replicas_figure(&pts, &note), csv)
    };
    let mut done = 0;
    for rate in REPLICA_RATES {
        for nodes in REPLICA_SIZES {
            let mut runs = Vec::with_capacity(trials as usize);
            for t in 0..trials {
                runs.push(experiment::replica_point(
                    nodes,
                    network,
                    seed.wrapping_add(t as u64),
                    rate,
                )?);
                done += 1;
                post.progress(false, done, total, || figure(&points));
            }
            let n = runs.len() as f64;
            let mean = |f: fn(&ReplicaPoint) -> f64| runs.iter().map(f).sum::<f64>() / n;
            points.push((
                rate,
                ReplicaPoint {
                    nodes,
                    latency_p50_ms: mean(|p| p.latency_p50_ms as f64).round() as u64,
                    latency_p99_ms: mean(|p| p.latency_p99_ms as f64).round() as u64,
                    messages_per_s: mean(|p| p.messages_per_s),
                },
            ));
            post.progress(true, done, total, || figure(&points));
        }
    }
    let (svg, csv) = figure(&points);
    post.finish(total, &svg, csv, &[]);
    Ok(())
}
