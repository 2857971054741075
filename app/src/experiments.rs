//! The Experiments panel's side of its worker (`src/bin/raftchat-worker.rs`):
//! what the panel shows ([`Experiment`]), the worker's replies
//! ([`Reply`]), and starting and stopping the worker (for the runner). The
//! trials, the figure and the CSV are all made in the worker; the page only
//! shows them, so its wasm carries none of that code. The CSV of each reply
//! becomes a `blob:` URL here, so the page holds a link to it, not the text.

use gloo_events::EventListener;
use std::cell::RefCell;
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
    pub running: bool,
    /// The worker's latest results as HTML: progress, the trials to open,
    /// the figure.
    pub html: AttrValue,
    /// The results so far as a CSV file: a `blob:` URL to download.
    pub csv_url: AttrValue,
    /// The recipe (JSON) of each trial offered to open, in the order of the
    /// options of `trial-choice`.
    pub recipes: Rc<Vec<String>>,
    pub error: Option<String>,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment::of_kind(KINDS[0].0)
    }
}

impl Experiment {
    /// The panel with `kind` chosen (one of [`KINDS`]), at its default trials.
    pub fn of_kind(kind: &'static str) -> Experiment {
        Experiment {
            kind,
            trials: if kind == KINDS[0].0 {
                DEFAULT_TRIALS
            } else {
                1
            },
            running: false,
            html: AttrValue::default(),
            csv_url: AttrValue::default(),
            recipes: Rc::default(),
            error: None,
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
                html,
                csv_url,
                recipes,
            } => {
                self.html = html.into();
                self.csv_url = csv_url.into();
                if let Some(recipes) = recipes {
                    self.running = false;
                    self.recipes = Rc::new(recipes);
                }
            }
        }
    }
}

/// What the worker posted.
#[derive(Debug)]
pub enum Reply {
    Progress {
        html: String,
        csv_url: String,
        /// With the last reply only: the recipes of the trials to open.
        recipes: Option<Vec<String>>,
    },
    Failed(String),
}

impl Reply {
    fn read(data: &JsValue) -> Reply {
        let field = |name: &str| js_sys::Reflect::get(data, &name.into()).unwrap_or_default();
        if let Some(why) = field("error").as_string() {
            return Reply::Failed(why);
        }
        let text = |name| field(name).as_string().unwrap_or_default();
        Reply::Progress {
            html: text("html"),
            csv_url: text("csv"),
            recipes: field("finished").is_truthy().then(|| {
                js_sys::Array::from(&field("recipes"))
                    .iter()
                    .map(|r| r.as_string().unwrap_or_default())
                    .collect()
            }),
        }
    }
}

#[wasm_bindgen(inline_js = r#"
let worker = null;
let csvUrl = null;
export function start_worker(kind, trials, seed) {
  stop_worker();
  const w = new Worker('./raftchat-worker_loader.js');
  worker = w;
  // Registered before the page's listener, so it sees each reply first.
  w.addEventListener('message', (e) => {
    // The worker says when its wasm is loaded: a request sent sooner is lost.
    if (e.data && e.data.ready) {
      e.stopImmediatePropagation();
      w.postMessage({ kind, trials, seed });
      return;
    }
    // The CSV becomes a file to download: the page keeps only its URL.
    if (e.data && typeof e.data.csv === 'string') {
      if (csvUrl) URL.revokeObjectURL(csvUrl);
      csvUrl = URL.createObjectURL(new Blob([e.data.csv], { type: 'text/csv' }));
      e.data.csv = csvUrl;
    }
  });
  w.addEventListener('error', (e) => {
    const why = 'the experiment stopped: ' + (e.message || 'its worker could not be loaded');
    w.dispatchEvent(new MessageEvent('message', { data: { error: why } }));
    w.terminate();
  });
  return w;
}
export function stop_worker() {
  if (worker) { worker.terminate(); worker = null; }
}
"#)]
extern "C" {
    /// A new worker running experiment `kind`; its replies are `message`
    /// events on it.
    fn start_worker(kind: &str, trials: u32, seed: u32) -> web_sys::EventTarget;
    fn stop_worker();
}

thread_local! {
    /// The running experiment's listener (dropped, it stops listening).
    static LISTENER: RefCell<Option<EventListener>> = const { RefCell::new(None) };
}

/// Starts the experiment in a new worker (stopping one that runs); every
/// reply goes to `on_reply`.
pub fn start(kind: &str, trials: u32, on_reply: Callback<Reply>) {
    stop();
    let worker = start_worker(kind, trials, SEED);
    let listener = EventListener::new(&worker, "message", move |e| {
        if let Some(e) = e.dyn_ref::<web_sys::MessageEvent>() {
            on_reply.emit(Reply::read(&e.data()));
        }
    });
    LISTENER.with(|l| *l.borrow_mut() = Some(listener));
}

/// Stops the running experiment, if any (its worker is terminated).
pub fn stop() {
    LISTENER.with(|l| l.borrow_mut().take());
    stop_worker();
}
