//! The effect runner: carries out what the reducer queued ([`Effect`]s) and
//! dispatches what came of it back as [`Action`]s. It owns the page's
//! connection to the world: IndexedDB (through [`Persistence`]), start-up
//! ([`crate::boot`]), links, files and the clipboard ([`crate::share`]).
//!
//! Data flows one way: components → actions → reducer → effects → runner →
//! actions. The reducer never imports this module.

use crate::effect::Effect;
use crate::persistence::Persistence;
use crate::settings::Settings;
use crate::state::Action;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

pub struct Runner {
    persistence: Rc<Persistence>,
    dispatch: Callback<Action>,
}

impl Runner {
    pub fn new(dispatch: Callback<Action>) -> Self {
        Runner {
            persistence: Persistence::new(dispatch.clone()),
            dispatch,
        }
    }

    /// The page's start: opens a run shared in the address (`#run=…`), listens
    /// for runs dropped on the page or linked later, and opens this tab's
    /// cluster in IndexedDB.
    pub fn start(&self, settings: Settings, author: String) {
        let fragment = crate::share::take_run_fragment();
        if !fragment.is_empty() {
            let d = self.dispatch.clone();
            spawn_local(async move {
                d.emit(Action::OpenRun(
                    crate::share::from_fragment(&fragment).await,
                ));
            });
        }
        let lesson = crate::share::take_lesson_fragment();
        if !lesson.is_empty() {
            self.dispatch.emit(Action::LoadLesson(lesson));
        }
        let d = self.dispatch.clone();
        crate::share::listen(d);
        self.boot(crate::boot::current_cluster(), settings, author, None);
    }

    /// Opens `cluster` (after deleting the database of `replacing`, if any);
    /// the database is attached before the reducer hears of it.
    fn boot(&self, cluster: u64, settings: Settings, author: String, replacing: Option<u64>) {
        let (p, d) = (self.persistence.clone(), self.dispatch.clone());
        spawn_local(async move {
            if let Some(old) = replacing {
                if let Err(e) = crate::boot::wipe(old).await {
                    d.emit(Action::DiskFailed(format!(
                        "the old cluster could not be deleted: {e}"
                    )));
                }
            }
            let (action, disk) = crate::boot::boot(cluster, settings, author).await;
            if let Some(disk) = disk {
                p.attach(disk);
            }
            d.emit(action);
        });
    }

    pub fn run(&self, effect: Effect) {
        let p = &self.persistence;
        match effect {
            Effect::Write(writes) => p.submit(writes),
            Effect::Discard(node) => p.discard(node),
            Effect::NewEpoch => p.new_epoch(),
            Effect::ReplaceNode(node, state) => p.replace_node(node, state),
            Effect::DeleteNode(node) => p.delete_node(node),
            Effect::SaveMeta(meta) => p.save_meta(meta),
            Effect::ReadNode(node, config) => p.restart_from_disk(node, config),
            Effect::Detach => p.detach(),
            Effect::Boot {
                settings,
                author,
                replacing,
            } => {
                let cluster = crate::boot::new_cluster_id();
                match replacing {
                    Some(_) => p.close(),
                    // Another tab has the last cluster: this one is this tab's.
                    None => crate::boot::remember_for_this_tab(cluster),
                }
                self.boot(cluster, settings, author, replacing);
            }
            Effect::MakeLink(recipe) => {
                let d = self.dispatch.clone();
                spawn_local(async move {
                    let action = match crate::share::link(&recipe).await {
                        Ok(link) => {
                            let copied = crate::share::copy(&link).await.is_ok();
                            Action::LinkReady(Ok(link), copied)
                        }
                        Err(why) => Action::LinkReady(Err(why), false),
                    };
                    d.emit(action);
                });
            }
            Effect::Download(recipe) => {
                if let Err(why) = crate::share::export(&recipe) {
                    self.dispatch.emit(Action::Tell(why));
                }
            }
            Effect::ExportLesson {
                recipe,
                title,
                stops,
            } => {
                if let Err(why) = crate::share::export_lesson(&recipe, &title, &stops) {
                    self.dispatch.emit(Action::Tell(why));
                }
            }
            Effect::RunExperiment { kind, trials } => crate::experiments::start(
                kind,
                trials,
                self.dispatch.reform(Action::ExperimentReply),
            ),
            Effect::StopExperiment => crate::experiments::stop(),
            Effect::OpenMore(n) => {
                let d = self.dispatch.clone();
                spawn_local(async move {
                    let _ = crate::share::after_paint().await;
                    d.emit(Action::OpenMore(n));
                });
            }
            Effect::FetchLesson(id) => {
                let d = self.dispatch.clone();
                spawn_local(async move {
                    d.emit(Action::OpenLesson(crate::share::fetch_lesson(&id).await));
                });
            }
        }
    }
}
