//! Measures each animation frame — advancing the simulator and redrawing —
//! and publishes the figures on `<body>` as `data-frame-ms` (mean of the last
//! frames), `data-frame-p95-ms` and `data-frames`, for the benchmark test.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use wasm_bindgen::JsCast;

const WINDOW: usize = 120;

thread_local! {
    static STARTED: Cell<Option<f64>> = const { Cell::new(None) };
    static DURATIONS: RefCell<VecDeque<f64>> = const { RefCell::new(VecDeque::new()) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// A frame begins (before the simulator advances).
pub fn begin() {
    STARTED.with(|s| s.set(Some(now_ms())));
}

/// The page has been redrawn: the frame that began, if any, ends.
pub fn end() {
    let Some(start) = STARTED.with(|s| s.take()) else {
        return;
    };
    let took = now_ms() - start;
    let (mean, p95, n) = DURATIONS.with(|d| {
        let mut d = d.borrow_mut();
        d.push_back(took);
        if d.len() > WINDOW {
            d.pop_front();
        }
        let mut sorted: Vec<f64> = d.iter().copied().collect();
        sorted.sort_unstable_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        let p95 = sorted[((sorted.len() - 1) as f64 * 0.95) as usize];
        let n = COUNT.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        (mean, p95, n)
    });
    let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
        .and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let data = body.dataset();
    // Thousandths of a millisecond, without the float formatter.
    let ms = |v: f64| {
        let us = (v * 1000.0).round() as u64;
        format!("{}.{:03}", us / 1000, us % 1000)
    };
    let _ = data.set("frameMs", &ms(mean));
    let _ = data.set("frameP95Ms", &ms(p95));
    let _ = data.set("frames", &n.to_string());
}
