//! The Experiments panel's side of its worker (`src/bin/raftchat-worker.rs`):
//! what the panel shows ([`Experiment`]), the worker's replies
//! ([`Reply`]), and starting and stopping the worker (for the runner). The
//! trials, the figure and the CSV are all made in the worker; the page only
//! shows them, so its wasm carries none of that code.

use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::{AttrValue, Callback};

/// The experiments the panel offers: (value, label).
pub const KINDS: [(&str, &str); 2] = [
    ("elections", "Elections after a leader crash (Figure 16)"),
    ("replicas", "Replicas: commit latency and throughput"),
];
/// Trials per range in the page unless changed (the CLI's default is 1000),
/// and the most the page asks for.
pub const DEFAULT_TRIALS: u32 = 200;
pub const MAX_TRIALS: u32 = 1000;
/// The replicas experiment's runs (seeds) per point: each is 10 s of a
/// loaded cluster, about a second of work in the browser.
pub const MAX_REPLICA_RUNS: u32 = 10;
/// The seed of every experiment run in the page: the same figures as
/// `raftchat-sim --experiment KIND --trials N` prints (seed 1).
pub const SEED: u32 = 1;

/// The panel's state: the experiment chosen, and what the worker reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    pub kind: &'static str,
    pub trials: u32,
    /// The trials field as typed (checked when the experiment is run).
    pub trials_text: AttrValue,
    pub running: bool,
    pub done: u32,
    pub total: u32,
    pub svg: AttrValue,
    pub csv: AttrValue,
    /// Trials worth opening as runs: (label, recipe JSON).
    pub choices: Rc<Vec<(String, String)>>,
    pub error: Option<String>,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment {
            kind: KINDS[0].0,
            trials: DEFAULT_TRIALS,
            trials_text: AttrValue::from(DEFAULT_TRIALS.to_string()),
            running: false,
            done: 0,
            total: 0,
            svg: AttrValue::default(),
            csv: AttrValue::default(),
            choices: Rc::default(),
            error: None,
        }
    }
}

impl Experiment {
    /// The panel with `kind` chosen (one of [`KINDS`]), at its default trials.
    pub fn of_kind(kind: &'static str) -> Experiment {
        let trials = if kind == KINDS[0].0 {
            DEFAULT_TRIALS
        } else {
            1
        };
        Experiment {
            kind,
            trials,
            trials_text: trials.to_string().into(),
            ..Experiment::default()
        }
    }

    /// Runs per trial asked for: one per timeout range (elections), one per
    /// cluster size and load (replicas).
    pub fn runs_per_trial(&self) -> u32 {
        use raftchat_core::experiment::{PAPER_RANGES, REPLICA_RATES, REPLICA_SIZES};
        if self.kind == KINDS[0].0 {
            PAPER_RANGES.len() as u32
        } else {
            (REPLICA_RATES.len() * REPLICA_SIZES.len()) as u32
        }
    }

    /// The most trials (per range) or runs (per point) the page asks for.
    pub fn max_trials(&self) -> u32 {
        if self.kind == KINDS[0].0 {
            MAX_TRIALS
        } else {
            MAX_REPLICA_RUNS
        }
    }

    /// Takes in a reply of the worker.
    pub fn update(&mut self, reply: Reply) {
        match reply {
            Reply::Failed(why) => {
                self.running = false;
                self.error = Some(why);
            }
            Reply::Progress {
                done,
                total,
                svg,
                csv,
                choices,
            } => {
                self.done = done;
                self.total = total;
                self.svg = svg.into();
                self.csv = csv.into();
                if let Some(choices) = choices {
                    self.running = false;
                    self.choices = Rc::new(choices);
                }
            }
        }
    }
}

/// What the worker posted.
#[derive(Debug)]
pub enum Reply {
    Progress {
        done: u32,
        total: u32,
        svg: String,
        csv: String,
        /// With the last reply only: the trials worth opening.
        choices: Option<Vec<(String, String)>>,
    },
    Failed(String),
}

impl Reply {
    fn read(data: &JsValue) -> Reply {
        let field = |name: &str| js_sys::Reflect::get(data, &name.into()).unwrap_or_default();
        if let Some(why) = field("error").as_string() {
            return Reply::Failed(why);
        }
        let number = |name| field(name).as_f64().unwrap_or(0.0) as u32;
        let text = |name| field(name).as_string().unwrap_or_default();
        let choices = field("finished").is_truthy().then(|| {
            js_sys::Array::from(&field("choices"))
                .iter()
                .map(|pair| {
                    let pair = js_sys::Array::from(&pair);
                    let part = |i| pair.get(i).as_string().unwrap_or_default();
                    (part(0), part(1))
                })
                .collect()
        });
        Reply::Progress {
            done: number("done"),
            total: number("total"),
            svg: text("svg"),
            csv: text("csv"),
            choices,
        }
    }
}

#[wasm_bindgen(inline_js = r#"
let worker = null;
export function start_worker(request, on_reply) {
  stop_worker();
  const w = new Worker('./raftchat-worker_loader.js');
  worker = w;
  // The worker says when its wasm is loaded: a message sent sooner is lost.
  w.onmessage = (e) => {
    if (worker !== w) return;
    if (e.data && e.data.ready) w.postMessage(request);
    else on_reply(e.data);
  };
  w.onerror = (e) => {
    if (worker !== w) return;
    stop_worker();
    on_reply({ error: 'the experiment stopped: ' + (e.message || 'its worker could not be loaded') });
  };
}
export function stop_worker() {
  if (worker) { worker.terminate(); worker = null; }
}
"#)]
extern "C" {
    fn start_worker(request: &JsValue, on_reply: &Closure<dyn FnMut(JsValue)>);
    fn stop_worker();
}

/// Starts the experiment in a new worker (stopping one that runs); every
/// reply goes to `on_reply`.
pub fn start(kind: &str, trials: u32, on_reply: Callback<Reply>) {
    let request = js_sys::Object::new();
    for (k, v) in [
        ("kind", JsValue::from(kind)),
        ("trials", trials.into()),
        ("seed", SEED.into()),
    ] {
        let _ = js_sys::Reflect::set(&request, &k.into(), &v);
    }
    let closure =
        Closure::<dyn FnMut(JsValue)>::new(move |data: JsValue| on_reply.emit(Reply::read(&data)));
    start_worker(&request, &closure);
    // The worker calls it until it is stopped; a few bytes per run started.
    closure.forget();
}

/// Stops the running experiment, if any (its worker is terminated).
pub fn stop() {
    stop_worker();
}
