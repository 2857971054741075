//! The page's state. The simulator is changed only here, by [`Action`]s; after
//! every change a fresh read-only [`ClusterView`] is taken for the components.
//! What the outside world must do (IndexedDB, links, start-up) the reducer
//! queues as [`Effect`]s for the runner (`runner.rs`), which dispatches
//! the results back as actions.

use crate::effect::Effect;
use crate::experiments::{Experiment, KINDS};
use crate::feed::{describe, FeedItem};
use crate::lesson::{Draft, LessonPlay};
use crate::settings::{bootstrap_config, Settings, MIN_NODES};
use crate::storage::{ClusterMeta, SCHEMA_VERSION};
use crate::view::ClusterView;
use raftchat_core::bugs::{Bug, BugSet};
use raftchat_core::chat::ChatCommand;
use raftchat_core::checker::Violation;
use raftchat_core::lesson::Lesson;
use raftchat_core::node_map::NodeMap;
use raftchat_core::recipe::{Action as Run, Recipe};
use raftchat_core::sim::{Simulator, MAX_NODES};
use raftchat_core::storage::PersistedState;
use raftchat_core::timeline::{OpenError, Opening, Timeline};
use raftchat_core::{NodeId, Outcome};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use yew::Reducible;

/// What components dispatch actions with.
pub type Dispatch = yew::UseReducerDispatcher<AppState>;

/// How many feed lines are kept.
pub const FEED_LEN: usize = 400;
/// How often, in real ms, the recipe is saved with a running cluster.
const SAVE_EVERY_MS: f64 = 1_000.0;
/// A real frame longer than this (a stalled tab) advances no more than this.
const MAX_FRAME_MS: f64 = 100.0;
/// The longest run (virtual time) a link or file may open: replaying it
/// builds the whole timeline at once.
pub const MAX_OPENED_RUN_MS: u64 = 6 * 3_600_000;
/// The most events the page simulates to open a run (a link, a file, a
/// lesson, or the saved run at a reload): the replay runs in one go, so this
/// bounds how long the tab is busy. Measured in headless Chromium: six idle
/// hours of the default cluster (about 7 million events) open in 3.2 s; a
/// busy run (9 nodes, 1 ms heartbeats, no latency: 8 million events by its
/// 98th virtual second) is refused after 6.4 s.
pub const MAX_OPENED_RUN_EVENTS: u64 = 8_000_000;
/// A run is opened this many simulated events at a time, the page drawn
/// between slices (its progress, a Cancel button that answers): about 70 ms
/// of replay in headless Chromium.
pub const OPEN_SLICE_EVENTS: u64 = 150_000;

/// A run being opened: its recipe and its replay so far.
struct OpeningRun {
    n: u64,
    recipe: Recipe,
    /// Taken when the replay is done.
    replay: RefCell<Option<Opening>>,
}

/// What is selected for the inspector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    None,
    Node(NodeId),
    /// The link between two nodes (smaller id first).
    Link(NodeId, NodeId),
}

/// Where the cluster is kept.
#[derive(Clone, Debug, PartialEq)]
pub enum StorageState {
    /// IndexedDB is being opened.
    Opening,
    /// Every node persists to IndexedDB (cluster `cluster`'s database).
    Saved {
        cluster: u64,
        usage_bytes: Option<f64>,
    },
    /// In memory only, and why.
    Memory { why: String },
    /// Another tab has this cluster open: this tab runs in memory.
    Elsewhere { cluster: u64 },
}

/// The last outcome shown under a chat pane's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneStatus {
    pub text: String,
    pub ok: bool,
}

pub enum Action {
    /// A real frame of `real_ms` passed while running.
    Frame {
        real_ms: f64,
    },
    TogglePlay,
    /// Pause because the tab was hidden, or resume when it is shown again.
    Visibility {
        hidden: bool,
    },
    /// Run to the next moment something is scheduled (all of it).
    Step,
    /// Go back to the previous moment something happened (pauses).
    StepBack,
    /// Jump to a virtual time on the timeline (pauses).
    Seek(u64),
    /// Return to another branch of the run (pauses).
    SwitchBranch(u32),
    /// Open a shared or exported run (a recipe): its replay starts, a slice
    /// at a time; bad input leaves the cluster as it is.
    OpenRun(Result<Recipe, String>),
    /// Replay the next slice of opening number `n` (the page has been drawn).
    OpenMore(u64),
    /// Stop opening the run: the cluster on screen stays.
    CancelOpen,
    /// Load a built-in lesson by id (fetched beside the page).
    LoadLesson(String),
    /// Open a lesson (a built-in one, a file); bad input leaves the page as it is.
    OpenLesson(Result<Lesson, String>),
    /// Play on to the lesson's next stop (or the next part, or the end).
    LessonNext,
    /// Jump straight to the lesson's next stop.
    LessonSkip,
    /// PageDown (a presenter remote): the lesson's next step, or one step.
    Advance,
    /// Start writing a lesson from the run on screen (or stop).
    ToggleAuthoring,
    /// Add a stop to the lesson being written, at this moment: a caption,
    /// and optionally a question (choices one a line, the right one's number).
    AuthorAdd {
        caption: String,
        ask: String,
        choices: String,
        answer: String,
    },
    AuthorRemoveLast,
    /// Download the lesson being written.
    AuthorExport {
        title: String,
    },
    /// Choose an answer to the step's question.
    LessonChoose(usize),
    CloseLesson,
    /// Make a link to the run (shown on the page, and copied if allowed).
    CopyLink,
    /// The link is made (or why not), and whether it is on the clipboard.
    LinkReady(Result<String, String>, bool),
    /// Download the run as a JSON file.
    ExportRun,
    /// Something the user should know (an effect that could not be done).
    Tell(String),
    /// A new cluster: `nodes` nodes from `seed`.
    Reset {
        seed: u64,
        nodes: u32,
    },
    SetSpeed(f64),
    SetLatency {
        min_ms: u64,
        max_ms: u64,
    },
    SetDropRate(f64),
    /// Break one rule of Raft on purpose (`None`: mend it). One at a time.
    SetBug(Option<Bug>),
    /// The safety panel's checker on or off (it costs some frame time).
    SetChecking(bool),
    /// PreVote and CheckQuorum (both off by default, to show the problems first).
    SetOptions {
        pre_vote: bool,
        check_quorum: bool,
    },
    Crash(NodeId),
    Restart(NodeId),
    /// A linearizable read of the chat through this node (§6.4).
    Read(NodeId),
    /// The leader hands leadership to this node (§3.10).
    TransferLeadership(NodeId),
    /// A new server joins the cluster (thesis §4.2).
    AddNode,
    /// The leader removes this server from the cluster.
    RemoveNode(NodeId),
    /// The node snapshots its chat and drops the log it covers ("compact now").
    Compact(NodeId),
    /// Crash whichever node leads (keyboard `c`).
    CrashLeader,
    /// Restart every crashed node (keyboard `r`).
    RestartAll,
    TimeoutNow(NodeId),
    Isolate(NodeId),
    HealNode(NodeId),
    CutLink {
        from: NodeId,
        to: NodeId,
    },
    HealLink {
        from: NodeId,
        to: NodeId,
    },
    HealAll,
    DropMessage(u64),
    /// Hold mode on or off: new messages wait on their links for the user.
    SetHold(bool),
    /// Deliver a held message now.
    DeliverMessage(u64),
    /// Deliver the held message sent first.
    DeliverNext,
    /// Put a second copy of a message on its link.
    DuplicateMessage(u64),
    /// Send a chat message through a node.
    Send {
        node: NodeId,
        text: String,
    },
    SetAuthor(String),
    Select(Selection),
    ToggleProjector,
    ToggleHelp,
    /// Show or hide a kind of event in the feed.
    ToggleFeedKind(crate::feed::FeedKind),
    /// Show only this node's events in the feed (`None`: every node's).
    FeedNode(Option<NodeId>),
    /// Show or hide the Experiments panel (an experiment runs on hidden).
    ToggleExperiments,
    /// Run the experiment chosen in the panel with the trials typed there
    /// (nothing typed: its default).
    RunExperiment {
        trials: String,
    },
    /// Choose the experiment (the panel's trials go to its default).
    ExperimentKind(String),
    CancelExperiment,
    /// What the experiment's worker posted.
    ExperimentReply(crate::experiments::Reply),
    CloseHelp,
    DismissNotice,
    /// IndexedDB is open and holds no cluster yet: start one there.
    Attach {
        cluster: u64,
        settings: Settings,
        author: String,
    },
    /// IndexedDB is open and holds a cluster: bring it back.
    Restore {
        cluster: u64,
        settings: Settings,
        author: String,
        /// Each node's id and state, as read back.
        nodes: Vec<(NodeId, PersistedState<ChatCommand>)>,
        /// The run's recipe as last saved (JSON), if the database has one.
        recipe: Option<String>,
    },
    /// IndexedDB could not be used at start-up.
    DiskUnavailable(String),
    /// A write or a read failed: go on in memory.
    DiskFailed(String),
    /// A write is durable in IndexedDB.
    Durable {
        node: NodeId,
        incarnation: u32,
        write_id: u64,
    },
    /// A restarting node's state, read back from IndexedDB.
    RestartFrom {
        node: NodeId,
        persisted: PersistedState<ChatCommand>,
    },
    StorageUsage(f64),
    OpenElsewhere {
        cluster: u64,
    },
    /// Leave the cluster another tab has open; start a separate one here.
    OpenOwnCluster,
}

pub struct AppState {
    /// The run: the simulator, its recipe, checkpoints and branches.
    timeline: Rc<RefCell<Timeline>>,
    pub settings: Settings,
    pub running: bool,
    /// Paused because the tab is hidden; resumes when it is shown.
    pub auto_paused: bool,
    /// Virtual time owed by real time, below one millisecond. A `Cell`, so that
    /// a frame that owes less than a millisecond changes nothing visible and
    /// returns the same state (yew then skips the redraw).
    carry_ms: Cell<f64>,
    /// How far the last frame wanted virtual time to go. If a disk write held it
    /// back, the confirmation of that write catches up at once, not a frame later.
    target_ms: Cell<u64>,
    /// Real time since the recipe was last saved with the cluster.
    unsaved_ms: Cell<f64>,
    /// Commands that arrived while virtual time waited for IndexedDB, in
    /// order: a step, or a click on the run while a write due at the current
    /// moment was not yet durable (applied then, the click would land before
    /// that write, where a replay puts it after; see `Timeline::held_at_now`).
    /// Each is taken once IndexedDB has caught up, at the moment it was made
    /// at. Shared by every state of one run, like the outbox.
    owed: Rc<RefCell<VecDeque<Action>>>,
    pub view: Rc<ClusterView>,
    pub feed: Rc<VecDeque<FeedItem>>,
    pub event_count: u64,
    pub author: String,
    /// Next sequence number of each pane's client (client id = node id).
    next_seq: BTreeMap<NodeId, u64>,
    pub pane_status: Rc<NodeMap<PaneStatus>>,
    pub selection: Selection,
    pub projector: bool,
    pub help: bool,
    /// The event feed's filters: the kinds hidden (a bit per kind) and the
    /// node shown alone.
    pub feed_hidden: u16,
    pub feed_node: Option<NodeId>,
    /// The Experiments panel: shown or not, and its experiment.
    pub experiments_open: bool,
    pub experiment: Rc<Experiment>,
    /// A message for the user about their last action, if it could not be done.
    pub notice: Option<String>,
    pub storage: StorageState,
    /// Why the last opened run could not be opened.
    pub import_error: Option<String>,
    /// The last link made to the run.
    pub share_link: Option<String>,
    /// A run opened (by link) while storage was still opening: opened once it is.
    pending_run: Option<Recipe>,
    /// A lesson opened (by link) while storage was still opening.
    pending_lesson: Option<Rc<Lesson>>,
    /// The run being opened, a slice at a time, while this one stays on
    /// screen. Not carried over when the cluster is replaced.
    opening: Option<Rc<OpeningRun>>,
    /// How many openings this page has started: each one's number.
    openings: u64,
    /// The timeline's marks and branches, as the components draw them.
    pub marks: Rc<crate::view::TimelineView>,
    /// The first violation of each property so far (the safety panel).
    pub violations: Rc<Vec<Violation>>,
    pub checking: bool,
    /// The guided lesson being played, if any.
    pub lesson: Option<LessonPlay>,
    /// A lesson being written from the run on screen, if any.
    pub draft: Option<Rc<Draft>>,
    /// Effects queued for the runner, in order. Shared by every state of one
    /// page, so that none is lost when the reducer returns an older state.
    outbox: Rc<RefCell<Vec<Effect>>>,
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl AppState {
    /// The page's first state: storage is being opened, the run waits for it.
    pub fn new(settings: Settings) -> Self {
        Self::build(settings, None, StorageState::Opening, Rc::default())
    }

    /// A cluster kept in memory only (no IndexedDB), running at once.
    pub fn in_memory(settings: Settings, why: &str) -> Self {
        let storage = StorageState::Memory {
            why: why.to_string(),
        };
        Self::build(settings, None, storage, Rc::default())
    }

    /// A cluster from `settings`; its nodes start from `persisted` if given.
    fn build(
        settings: Settings,
        persisted: Option<Vec<(NodeId, PersistedState<ChatCommand>)>>,
        storage: StorageState,
        outbox: Rc<RefCell<Vec<Effect>>>,
    ) -> Self {
        let from_start = persisted.is_none();
        let make = |settings: &Settings| match &persisted {
            Some(nodes) => Simulator::from_nodes(settings.sim_config(), nodes.clone()),
            None => Simulator::new(settings.sim_config()),
        };
        let (settings, sim) = match make(&settings) {
            Ok(sim) => (settings, sim),
            // Settings come from validated controls or a checked database; fall
            // back to the defaults rather than fail.
            Err(_) => {
                let d = Settings::default();
                let sim = Simulator::new(d.sim_config())
                    .expect("the default cluster configuration is valid");
                (d, sim)
            }
        };
        let timeline = Timeline::starting_from(sim, from_start);
        Self::with_timeline(settings, timeline, storage, outbox)
    }

    fn with_timeline(
        settings: Settings,
        mut timeline: Timeline,
        storage: StorageState,
        outbox: Rc<RefCell<Vec<Effect>>>,
    ) -> Self {
        let attached = matches!(storage, StorageState::Saved { .. });
        timeline.sim_mut().set_external_disk(attached);
        let mut state = AppState {
            timeline: Rc::new(RefCell::new(timeline)),
            settings,
            running: true,
            auto_paused: false,
            carry_ms: Cell::new(0.0),
            target_ms: Cell::new(0),
            unsaved_ms: Cell::new(0.0),
            owed: Rc::default(),
            view: Rc::new(ClusterView::empty()),
            feed: Rc::default(),
            event_count: 0,
            author: "student".into(),
            next_seq: BTreeMap::new(),
            pane_status: Rc::default(),
            selection: Selection::None,
            projector: false,
            help: false,
            feed_hidden: crate::feed::FeedKind::HIDDEN_AT_FIRST,
            feed_node: None,
            experiments_open: false,
            experiment: Rc::default(),
            notice: None,
            storage,
            import_error: None,
            share_link: None,
            pending_run: None,
            pending_lesson: None,
            opening: None,
            openings: 0,
            marks: Rc::default(),
            violations: Rc::default(),
            checking: true,
            lesson: None,
            draft: None,
            outbox,
        };
        state.refresh();
        state
    }

    /// The cluster saved in IndexedDB: new (`nodes` is `None`) or restored.
    fn saved_cluster(
        &self,
        cluster: u64,
        settings: Settings,
        author: String,
        nodes: Option<Vec<(NodeId, PersistedState<ChatCommand>)>>,
    ) -> AppState {
        let storage = StorageState::Saved {
            cluster,
            usage_bytes: None,
        };
        let mut fresh = AppState::build(settings, nodes, storage, self.outbox.clone());
        fresh.author = author;
        fresh.carry_over(self);
        fresh
    }

    /// A saved cluster whose recipe rebuilt its timeline. The reload is a power
    /// cut: every node that was up restarts from what it had made durable
    /// (two steps of the recipe), and IndexedDB is rewritten to match.
    fn reloaded(
        &self,
        cluster: u64,
        settings: Settings,
        author: String,
        timeline: Timeline,
        recipe: &Recipe,
        snapshots_on_disk: usize,
    ) -> AppState {
        let storage = StorageState::Saved {
            cluster,
            usage_bytes: None,
        };
        let mut fresh = self.replaced_by(settings, timeline, storage, author, recipe);
        let up: Vec<NodeId> = fresh
            .view
            .nodes
            .iter()
            .filter(|n| n.up)
            .map(|n| n.id)
            .collect();
        for &id in &up {
            fresh.act(Run::Crash(id));
        }
        for &id in &up {
            fresh.act(Run::Restart(id));
        }
        let old = fresh.node_ids();
        fresh.after_jump(&old);
        fresh.refresh();
        fresh.flush_writes();
        fresh.notice = Some(format!(
            "Restored the saved run at {}: {} nodes restarted from what they had made durable ({snapshots_on_disk} snapshot(s) on disk), with the timeline ({} steps). Each chat starts from its snapshot and refills as a leader learns what is committed.",
            crate::text::seconds(fresh.view.now_ms, 1),
            up.len(),
            recipe.steps.len()
        ));
        if let (Some(notice), Some(note)) = (fresh.notice.as_mut(), recipe.replay_note()) {
            notice.push(' ');
            notice.push_str(&note);
        }
        fresh
    }

    /// Opens a run that arrived (by link) while storage was opening.
    fn open_pending(&mut self) -> Rc<AppState> {
        let pending = self.pending_run.take();
        let lesson = self.pending_lesson.take();
        let mut me = self.next();
        me.pending_run = None;
        me.pending_lesson = None;
        match (pending, lesson) {
            (_, Some(lesson)) => me.start_lesson(lesson, 0).into(),
            (Some(recipe), None) => AppState::reduce(Rc::new(me), Action::OpenRun(Ok(recipe))),
            (None, None) => Rc::new(me),
        }
    }

    /// The page with `timeline` (the run of `recipe`) in place of this one's,
    /// keeping what the user chose; the simulator makes no durable writes of
    /// its own until the caller has IndexedDB follow.
    fn replaced_by(
        &self,
        settings: Settings,
        timeline: Timeline,
        storage: StorageState,
        author: String,
        recipe: &Recipe,
    ) -> AppState {
        let mut fresh = AppState::with_timeline(settings, timeline, storage, self.outbox.clone());
        fresh.author = author;
        fresh.carry_over(self);
        fresh.next_seq = next_seqs(recipe);
        fresh
            .timeline
            .borrow_mut()
            .sim_mut()
            .set_external_disk(false);
        fresh
    }

    /// A new page state running `recipe` (paused at its `at_ms`), keeping
    /// what the user chose on the page; or why it cannot be opened. In one go.
    fn open_recipe(&self, recipe: &Recipe) -> Result<AppState, String> {
        self.opened(
            recipe,
            Timeline::from_recipe_within(recipe, MAX_OPENED_RUN_EVENTS),
        )
    }

    /// [`AppState::open_recipe`] with the replay made: `timeline`.
    fn opened(
        &self,
        recipe: &Recipe,
        timeline: Result<Timeline, OpenError>,
    ) -> Result<AppState, String> {
        let s = self;
        let settings = Settings {
            seed: recipe.config.seed,
            nodes: recipe.config.nodes,
            pre_vote: recipe.config.pre_vote,
            check_quorum: recipe.config.check_quorum,
            latency_min_ms: recipe.config.net.latency_min_ms,
            latency_max_ms: recipe.config.net.latency_max_ms,
            drop_rate: recipe.config.net.drop_rate,
            ..s.settings.clone()
        };
        let timeline = timeline.map_err(|e| match e {
            OpenError::Invalid(why) => format!("the run cannot be opened: {why}"),
            too_busy => format!(
                "the run is too busy to open in the page: {too_busy}, the page's limit. Replay it with raftchat-sim --replay FILE"
            ),
        })?;
        let old = s.node_ids();
        let mut fresh = s.replaced_by(
            settings,
            timeline,
            s.storage.clone(),
            s.author.clone(),
            recipe,
        );
        fresh.running = false;
        fresh.after_jump(&old);
        fresh.refresh();
        fresh.flush_writes();
        Ok(fresh)
    }

    /// The page once a run's replay is done: the run opened, paused where it
    /// was, and said so; or, if it could not be, this page and why not.
    fn finish_opening(
        mut self,
        recipe: &Recipe,
        timeline: Result<Timeline, OpenError>,
    ) -> AppState {
        // A run recorded by a build whose Raft behaves differently.
        let note = recipe.replay_note();
        match self.opened(recipe, timeline) {
            Ok(mut fresh) => {
                let opened = format!(
                    "Opened a run of {} steps, paused at {}.",
                    recipe.steps.len(),
                    crate::text::seconds(recipe.at_ms, 1)
                );
                fresh.notice = Some(match note {
                    Some(note) => format!("{opened} {note}"),
                    None => opened,
                });
                fresh
            }
            Err(e) => {
                self.import_error = Some(match note {
                    Some(note) => format!("{e}. {note}"),
                    None => e,
                });
                self
            }
        }
    }

    /// Opens part `part` of `lesson` at its first stop.
    fn start_lesson(mut self, lesson: Rc<Lesson>, part: usize) -> AppState {
        let opened = LessonPlay::start(lesson, part).and_then(|(play, recipe)| {
            // Written for a build whose Raft behaves differently: say so.
            let note = recipe.replay_note_for("lesson");
            Ok((play, self.open_recipe(&recipe)?, note))
        });
        match opened {
            Ok((play, mut fresh, note)) => {
                fresh.lesson = Some(play);
                if note.is_some() {
                    fresh.notice = note;
                }
                fresh
            }
            Err(e) => {
                self.import_error = Some(format!("the lesson: {e}"));
                self
            }
        }
    }

    /// Keeps what the user chose on the page when the cluster is replaced.
    fn carry_over(&mut self, from: &AppState) {
        self.running = from.running;
        self.auto_paused = from.auto_paused;
        self.projector = from.projector;
        self.help = from.help;
        self.feed_hidden = from.feed_hidden;
        self.feed_node = from.feed_node;
        self.experiments_open = from.experiments_open;
        self.experiment = from.experiment.clone();
        self.pending_run = from.pending_run.clone();
        self.pending_lesson = from.pending_lesson.clone();
        self.openings = from.openings;
    }

    /// Until storage is open the cluster does not start: what happened in it
    /// would be lost when the saved cluster is brought in.
    pub fn starting(&self) -> bool {
        self.storage == StorageState::Opening
    }

    /// The run being opened, if one is: how far its replay has come and
    /// where it ends, in virtual time (at 0 while it waits for storage).
    pub fn opening(&self) -> Option<(u64, u64)> {
        match (&self.opening, &self.pending_run) {
            (Some(run), _) => {
                let replay = run.replay.borrow();
                let at_ms = replay.as_ref().map_or(0, Opening::at_ms);
                Some((at_ms, run.recipe.run_end_ms()))
            }
            (None, Some(recipe)) => Some((0, recipe.run_end_ms())),
            (None, None) => None,
        }
    }

    /// Whether the nodes persist to IndexedDB (through the runner).
    fn attached(&self) -> bool {
        matches!(self.storage, StorageState::Saved { .. })
    }

    /// Queues an effect for the runner.
    fn effect(&self, effect: Effect) {
        self.outbox.borrow_mut().push(effect);
    }

    /// The effects queued since the last call, in order (for the runner).
    pub fn take_effects(&self) -> Vec<Effect> {
        std::mem::take(&mut *self.outbox.borrow_mut())
    }

    /// Hands the simulator's new durable writes to IndexedDB.
    fn flush_writes(&self) {
        if self.attached() {
            let writes = self.timeline.borrow_mut().sim_mut().take_disk_writes();
            if !writes.is_empty() {
                self.effect(Effect::Write(writes));
            }
        }
    }

    /// The run as a recipe (for links, files and the database), or why it
    /// cannot be one.
    pub fn recipe(&self) -> Result<Recipe, String> {
        let t = self.timeline.borrow();
        if !t.replayable() {
            return Err("this run began from a cluster saved by an earlier raftchat; it can be rewound but not shared (start a new run to share one)".into());
        }
        Ok(t.recipe())
    }

    /// Read-only access to the timeline (the components draw it).
    pub fn timeline(&self) -> std::cell::Ref<'_, Timeline> {
        self.timeline.borrow()
    }

    /// After a jump in time (seek, branch, opened run): each node's IndexedDB
    /// state is rewritten to what that node had made durable at the new
    /// moment, then the writes still under way are handed out again.
    fn after_jump(&mut self, old_nodes: &[NodeId]) {
        self.carry_ms.set(0.0);
        self.target_ms.set(self.timeline.borrow().now_ms());
        if !self.attached() {
            return;
        }
        self.effect(Effect::NewEpoch);
        let mut t = self.timeline.borrow_mut();
        let ids: Vec<NodeId> = t.sim().node_ids().collect();
        for &id in old_nodes.iter().filter(|id| !ids.contains(id)) {
            self.effect(Effect::DeleteNode(id));
        }
        for &id in &ids {
            if let Some(state) = t.sim().node(id).and_then(|v| v.storage.load().ok()) {
                self.effect(Effect::ReplaceNode(id, state));
            }
        }
        t.sim_mut().set_external_disk(true);
        drop(t);
        self.save_meta();
    }

    fn save_meta(&self) {
        if !self.attached() {
            return;
        }
        self.effect(Effect::SaveMeta(ClusterMeta {
            schema: SCHEMA_VERSION,
            settings: self.settings.clone(),
            author: self.author.clone(),
            node_ids: self.timeline.borrow().sim().node_ids().collect(),
            recipe: self
                .recipe()
                .ok()
                .and_then(|r| crate::json::recipe_to_json(&r).ok()),
        }));
    }

    /// Restarts a node: from IndexedDB when the cluster is saved there.
    fn restart(&mut self, id: NodeId) {
        if self.attached() {
            if self.view.node(id).is_some_and(|n| n.up) {
                self.notice = Some(format!("node {id} is already up"));
                return;
            }
            self.effect(Effect::ReadNode(
                id,
                bootstrap_config(self.settings.nodes, id),
            ));
        } else {
            self.act(Run::Restart(id));
        }
    }

    fn crash(&mut self, id: NodeId) {
        if self.act(Run::Crash(id)) && self.attached() {
            self.effect(Effect::Discard(id));
        }
    }

    /// Whether the run is waiting for IndexedDB to finish a write.
    pub fn waiting_for_disk(&self) -> Option<NodeId> {
        self.timeline.borrow().sim().waiting_for_disk()
    }

    /// A copy sharing the simulator, to be changed and returned by the reducer.
    fn next(&self) -> AppState {
        AppState {
            timeline: self.timeline.clone(),
            settings: self.settings.clone(),
            running: self.running,
            auto_paused: self.auto_paused,
            carry_ms: Cell::new(self.carry_ms.get()),
            target_ms: Cell::new(self.target_ms.get()),
            unsaved_ms: Cell::new(self.unsaved_ms.get()),
            owed: self.owed.clone(),
            view: self.view.clone(),
            feed: self.feed.clone(),
            event_count: self.event_count,
            author: self.author.clone(),
            next_seq: self.next_seq.clone(),
            pane_status: self.pane_status.clone(),
            selection: self.selection,
            projector: self.projector,
            help: self.help,
            feed_hidden: self.feed_hidden,
            feed_node: self.feed_node,
            experiments_open: self.experiments_open,
            experiment: self.experiment.clone(),
            notice: self.notice.clone(),
            storage: self.storage.clone(),
            import_error: self.import_error.clone(),
            share_link: self.share_link.clone(),
            pending_run: self.pending_run.clone(),
            pending_lesson: self.pending_lesson.clone(),
            opening: self.opening.clone(),
            openings: self.openings,
            marks: self.marks.clone(),
            violations: self.violations.clone(),
            checking: self.checking,
            lesson: self.lesson.clone(),
            draft: self.draft.clone(),
            outbox: self.outbox.clone(),
        }
    }

    /// Takes the new events and a new view of the simulator.
    fn refresh(&mut self) {
        let events = self.timeline.borrow_mut().take_events();
        // Servers that joined or left: the saved list of nodes follows, and a
        // removed server's records are deleted.
        let mut members_changed = false;
        for e in &events {
            match e.kind {
                raftchat_core::sim::EventKind::NodeAdded { .. } => members_changed = true,
                raftchat_core::sim::EventKind::NodeRetired { node } => {
                    members_changed = true;
                    if self.attached() {
                        self.effect(Effect::DeleteNode(node));
                    }
                }
                _ => {}
            }
        }
        if members_changed {
            self.save_meta();
        }
        let timeline = self.timeline.borrow();
        let sim = timeline.sim();
        if !events.is_empty() {
            self.event_count += events.len() as u64;
            let feed = Rc::make_mut(&mut self.feed);
            let mut status = None::<NodeMap<PaneStatus>>;
            for (i, e) in events.iter().enumerate() {
                if let raftchat_core::sim::EventKind::ClientOutcome {
                    node,
                    client,
                    seq,
                    outcome,
                    ..
                } = e.kind
                {
                    if client == node as u64 {
                        let s = status.get_or_insert_with(|| (*self.pane_status).clone());
                        s.insert(
                            node,
                            match outcome {
                                Outcome::Committed { index, .. } => PaneStatus {
                                    text: format!("message {seq} committed at index {index}"),
                                    ok: true,
                                },
                                Outcome::Failed(why) => PaneStatus {
                                    text: format!("message {seq} failed: {why}"),
                                    ok: false,
                                },
                            },
                        );
                    }
                }
                if let raftchat_core::sim::EventKind::ReadDone {
                    node, ref outcome, ..
                } = e.kind
                {
                    let s = status.get_or_insert_with(|| (*self.pane_status).clone());
                    let ok = matches!(outcome, raftchat_core::node::ReadOutcome::Served { .. });
                    s.insert(
                        node,
                        PaneStatus {
                            text: format!("read {}", crate::feed::read_text(outcome)),
                            ok,
                        },
                    );
                }
                if let raftchat_core::sim::EventKind::TransferEnded { outcome, .. } = e.kind {
                    self.notice = Some(crate::feed::transfer_text(outcome));
                }
                if let Some(line) = describe(&e.kind) {
                    let seq = self.event_count - (events.len() - i) as u64;
                    crate::feed::push(feed, seq, e.at_ms, line);
                    // Bounded as it grows: an opened run's re-run hands over
                    // its whole history at once, and `push` searches the feed.
                    feed.truncate(FEED_LEN);
                }
            }
            if let Some(s) = status {
                self.pane_status = Rc::new(s);
            }
        }
        self.view = Rc::new(ClusterView::take(sim, &self.view));
        let marks = crate::view::TimelineView::take(&timeline, &self.marks);
        if marks != *self.marks {
            self.marks = Rc::new(marks);
        }
        if self.violations.as_slice() != timeline.violations() {
            self.violations = Rc::new(timeline.violations().to_vec());
        }
        self.checking = timeline.checking();
        drop(timeline);
        // Play stops at the event that first broke a property.
        if let Some(v) = self.timeline.borrow_mut().take_new_violation() {
            self.running = false;
            self.auto_paused = false;
            self.notice = Some(format!(
                "Paused: {} broken at {} ms — {}. The safety panel says more; play on to see what follows.",
                v.rule, v.at_ms, v.detail
            ));
        }
    }

    /// Applies a user's command to the run and records it in the recipe; a
    /// refused command becomes a notice. Returns whether it was applied.
    fn act(&mut self, action: Run) -> bool {
        let result = self.timeline.borrow_mut().act(action);
        match result {
            Ok(()) => true,
            Err(e) => {
                self.notice = Some(e);
                false
            }
        }
    }

    /// Pauses and moves the run in time with `go`; then IndexedDB follows
    /// ([`AppState::after_jump`]). A refusal becomes a notice.
    fn jump(&mut self, go: impl FnOnce(&mut Timeline) -> Result<(), String>) {
        self.running = false;
        self.auto_paused = false;
        let old = self.node_ids();
        let gone = go(&mut self.timeline.borrow_mut());
        match gone {
            Ok(()) => {
                // The feed and the panes' last outcomes told of another
                // moment: the feed starts again with the events re-run to
                // reach this one (not yet taken: the next refresh takes them).
                // An opened run's fresh page starts so already.
                self.feed = Rc::default();
                self.pane_status = Rc::default();
                self.after_jump(&old)
            }
            Err(e) => self.notice = Some(e),
        }
    }

    /// Runs everything scheduled for the next moment, so that a click after it
    /// lands where a replay will apply it.
    ///
    /// A moment where nothing happens (a timer that was reset before it
    /// fired) is not a step: it runs on to the next moment with an event,
    /// or to a write it must wait for IndexedDB to confirm.
    fn step_once(&mut self) {
        let events = |s: &Self| s.timeline.borrow().sim().stats().events;
        let before = events(self);
        for _ in 0..10_000 {
            let next = self.timeline.borrow().sim().next_event_ms();
            let Some(t) = next else { return };
            let advanced = self.timeline.borrow_mut().advance(t);
            self.target_ms.set(t);
            if let Err(e) = advanced {
                self.notice = Some(e);
                return;
            }
            if events(self) > before || self.waiting_for_disk().is_some() {
                return;
            }
        }
    }

    /// The node ids now (to tell which a jump in time removes).
    fn node_ids(&self) -> Vec<NodeId> {
        self.timeline.borrow().sim().node_ids().collect()
    }
}

/// What waiting for IndexedDB means for a command ([`AppState::must_wait`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Step,
    ActsOnRun,
    MovesInTime,
    Other,
}

/// Each pane's next sequence number after a recipe's chat messages.
fn next_seqs(recipe: &Recipe) -> BTreeMap<NodeId, u64> {
    let mut seqs = BTreeMap::new();
    for step in &recipe.steps {
        if let Run::Send { client, seq, .. } = step.action {
            let e = seqs.entry(client as NodeId).or_insert(0);
            *e = (*e).max(seq);
        }
    }
    seqs
}

/// Checks a chat message and says why it cannot be sent.
pub fn check_message(author: &str, text: &str) -> Result<ChatCommand, String> {
    ChatCommand::new(author, text)
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let next = self.clone().decide(action);
        // Queued effects run after the next redraw: a state that queued one
        // is a new state, so that the redraw happens.
        if Rc::ptr_eq(&next, &self) && !self.outbox.borrow().is_empty() {
            return Rc::new(self.next());
        }
        next
    }
}

impl AppState {
    /// The reducer proper: the next state, with its effects queued. A command
    /// that must wait for IndexedDB ([`AppState::must_wait`]) is owed.
    fn decide(self: Rc<Self>, action: Action) -> Rc<Self> {
        // PageDown waits (or not) as what it stands for.
        let action = match action {
            Action::Advance if self.lesson.is_some() => Action::LessonNext,
            Action::Advance => Action::Step,
            action => action,
        };
        if !self.must_wait(&action) {
            return self.decide_now(action).settle_owed();
        }
        self.owed.borrow_mut().push_back(action);
        // Waiting may have run the events due (see `Timeline::held_at_now`).
        let mut s = self.next();
        s.refresh();
        Rc::new(s)
    }

    /// Whether `action` must wait for IndexedDB: a command that acts on the
    /// run or moves it in time, behind owed ones (they keep their order); or
    /// one [`AppState::blocked`] now.
    fn must_wait(&self, action: &Action) -> bool {
        (!self.owed.borrow().is_empty() && Self::kind(action) != Kind::Other)
            || self.blocked(action)
    }

    /// Whether `action` cannot be taken yet: a click on the run while a write
    /// due at the current moment is not yet durable; a step while any write
    /// is not (it may be the next event). For a step, asking runs the current
    /// moment's events that can run, so that it goes on from a finished
    /// moment; a click runs them only if it succeeds (`Timeline::act`).
    fn blocked(&self, action: &Action) -> bool {
        match Self::kind(action) {
            Kind::Step => {
                self.timeline.borrow_mut().held_at_now().is_some()
                    || self.waiting_for_disk().is_some()
            }
            Kind::ActsOnRun => self.timeline.borrow().would_hold_now().is_some(),
            Kind::MovesInTime | Kind::Other => false,
        }
    }

    fn kind(action: &Action) -> Kind {
        let acts_on_run = matches!(
            action,
            Action::SetLatency { .. }
                | Action::SetDropRate(_)
                | Action::SetBug(_)
                | Action::SetOptions { .. }
                | Action::Crash(_)
                | Action::Restart(_)
                | Action::RestartFrom { .. }
                | Action::Read(_)
                | Action::TransferLeadership(_)
                | Action::AddNode
                | Action::RemoveNode(_)
                | Action::Compact(_)
                | Action::CrashLeader
                | Action::RestartAll
                | Action::TimeoutNow(_)
                | Action::Isolate(_)
                | Action::HealNode(_)
                | Action::CutLink { .. }
                | Action::HealLink { .. }
                | Action::HealAll
                | Action::DropMessage(_)
                | Action::SetHold(_)
                | Action::DeliverMessage(_)
                | Action::DeliverNext
                | Action::DuplicateMessage(_)
                | Action::Send { .. }
        );
        let moves_in_time = matches!(
            action,
            Action::StepBack
                | Action::Seek(_)
                | Action::SwitchBranch(_)
                | Action::LessonNext
                | Action::LessonSkip
        );
        match action {
            Action::Step => Kind::Step,
            _ if acts_on_run => Kind::ActsOnRun,
            _ if moves_in_time => Kind::MovesInTime,
            _ => Kind::Other,
        }
    }

    /// Takes the owed commands, in order, until one is blocked.
    fn settle_owed(self: Rc<Self>) -> Rc<Self> {
        let owed = self.owed.clone();
        let mut state = self;
        loop {
            let blocked = owed.borrow().front().map(|a| state.blocked(a));
            if blocked != Some(false) {
                return state;
            }
            let Some(action) = owed.borrow_mut().pop_front() else {
                return state;
            };
            state = state.decide_now(action);
        }
    }

    /// The reducer for a command that need not wait.
    fn decide_now(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = self.next();
        // A notice stays until the user does something else (or closes it);
        // the animation and the disk do not clear it.
        let from_user = !matches!(
            action,
            Action::Frame { .. }
                | Action::Visibility { .. }
                | Action::Durable { .. }
                | Action::StorageUsage(_)
                | Action::RestartFrom { .. }
                | Action::Attach { .. }
                | Action::Restore { .. }
                | Action::DiskUnavailable(_)
                | Action::DiskFailed(_)
                | Action::OpenElsewhere { .. }
                | Action::OpenMore(_)
        );
        if from_user {
            s.notice = None;
        }
        match action {
            Action::Frame { real_ms } => {
                if !self.running || self.starting() {
                    return self;
                }
                // The recipe is saved with the cluster about once a second,
                // so that a reload finds the run where it was.
                let unsaved = self.unsaved_ms.get() + real_ms.max(0.0);
                self.unsaved_ms.set(unsaved);
                s.unsaved_ms.set(unsaved);
                if unsaved >= SAVE_EVERY_MS {
                    self.unsaved_ms.set(0.0);
                    s.unsaved_ms.set(0.0);
                    s.save_meta();
                }
                let owed =
                    self.carry_ms.get() + real_ms.clamp(0.0, MAX_FRAME_MS) * self.settings.speed;
                let whole = owed.floor();
                self.carry_ms.set(owed - whole);
                s.carry_ms.set(owed - whole);
                if whole < 1.0 {
                    // Less than a virtual millisecond: nothing can have happened.
                    return self;
                }
                // Owed time stays bounded even if a write keeps virtual time waiting.
                let now = s.view.now_ms;
                let mut until = s.target_ms.get().clamp(now, now + 100) + whole as u64;
                // A lesson stops at its next step's moment.
                let stop = s.lesson.as_ref().and_then(LessonPlay::next_stop_ms);
                if let Some(stop) = stop {
                    until = until.min(stop);
                }
                s.target_ms.set(until);
                let advanced = s.timeline.borrow_mut().advance(until);
                if let Err(e) = advanced {
                    s.notice = Some(e);
                    s.running = false;
                }
                let now = s.timeline.borrow().now_ms();
                if stop.is_some_and(|stop| now >= stop) {
                    s.running = false;
                    if let Some(l) = s.lesson.as_mut() {
                        l.arrive();
                    }
                }
            }
            Action::TogglePlay => {
                // Steps owed would move a run just paused, or one playing anyway.
                s.owed.borrow_mut().retain(|a| !matches!(a, Action::Step));
                // Paused means still: time owed by the last frame is dropped.
                s.target_ms.set(s.view.now_ms);
                s.running = !s.running;
                s.auto_paused = false;
                return Rc::new(s);
            }
            Action::Visibility { hidden } => {
                if hidden {
                    s.save_meta();
                }
                if hidden && s.running {
                    s.running = false;
                    s.auto_paused = true;
                } else if !hidden && s.auto_paused {
                    s.running = true;
                    s.auto_paused = false;
                } else {
                    return self;
                }
                return Rc::new(s);
            }
            Action::Step if self.starting() => return self,
            Action::Step => {
                s.running = false;
                s.auto_paused = false;
                s.step_once();
            }
            Action::StepBack | Action::Seek(_) | Action::SwitchBranch(_) if self.starting() => {
                return self;
            }
            Action::StepBack => s.jump(|t| match t.step_back()? {
                true => Ok(()),
                false => Err("this is the start of the run".into()),
            }),
            Action::Seek(at) => s.jump(|t| t.seek(at)),
            Action::SwitchBranch(id) => s.jump(|t| t.switch_branch(id)),
            Action::OpenRun(Err(why)) => {
                s.import_error = Some(why);
                return Rc::new(s);
            }
            Action::OpenRun(Ok(recipe)) if recipe.run_end_ms() > MAX_OPENED_RUN_MS => {
                s.import_error = Some(format!(
                    "this run lasts {} h of virtual time; the page opens runs of up to {} h (replay longer ones with raftchat-sim --replay FILE)",
                    crate::text::tenths(recipe.run_end_ms() as f64 / 3_600_000.0),
                    MAX_OPENED_RUN_MS / 3_600_000
                ));
                return Rc::new(s);
            }
            Action::OpenRun(Ok(recipe)) if self.starting() => {
                // Opened once the cluster is (the page shows it as opening).
                s.pending_run = Some(recipe);
                return Rc::new(s);
            }
            Action::OpenRun(Ok(recipe)) => {
                // The run on screen stays until the replay is done; another
                // opening in progress gives way to this one.
                match Opening::new(&recipe, MAX_OPENED_RUN_EVENTS) {
                    Ok(replay) => {
                        s.openings += 1;
                        s.opening = Some(Rc::new(OpeningRun {
                            n: s.openings,
                            recipe,
                            replay: RefCell::new(Some(replay)),
                        }));
                        s.effect(Effect::OpenMore(s.openings));
                        return Rc::new(s);
                    }
                    Err(e) => return Rc::new(s.finish_opening(&recipe, Err(e))),
                }
            }
            Action::OpenMore(n) => {
                let Some(run) = s.opening.clone().filter(|r| r.n == n) else {
                    // Cancelled, or given way to another.
                    return self;
                };
                if self.starting() {
                    // The page is opening a cluster of its own: this run is
                    // opened once it is, from the start.
                    s.opening = None;
                    s.pending_run = Some(run.recipe.clone());
                    return Rc::new(s);
                }
                let Some(mut replay) = run.replay.borrow_mut().take() else {
                    return self;
                };
                let opened = match replay.advance(OPEN_SLICE_EVENTS) {
                    Ok(false) => {
                        run.replay.replace(Some(replay));
                        s.effect(Effect::OpenMore(n));
                        return Rc::new(s);
                    }
                    Ok(true) => replay.finish(),
                    Err(e) => Err(e),
                };
                s.opening = None;
                return Rc::new(s.finish_opening(&run.recipe, opened));
            }
            Action::CancelOpen => {
                if s.opening.take().is_some() || s.pending_run.take().is_some() {
                    s.notice =
                        Some("Stopped opening the run: the cluster on screen is as it was.".into());
                }
                return Rc::new(s);
            }
            Action::LoadLesson(id) => {
                s.effect(Effect::FetchLesson(id));
                return Rc::new(s);
            }
            Action::OpenLesson(Err(why)) => {
                s.import_error = Some(format!("the lesson: {why}"));
                return Rc::new(s);
            }
            Action::OpenLesson(Ok(lesson)) if self.starting() => {
                s.pending_lesson = Some(Rc::new(lesson));
                return Rc::new(s);
            }
            Action::OpenLesson(Ok(lesson)) => {
                return Rc::new(s.start_lesson(Rc::new(lesson), 0));
            }
            Action::LessonChoose(n) => {
                if let Some(l) = s.lesson.as_mut() {
                    l.choice = Some(n);
                }
                return Rc::new(s);
            }
            Action::CloseLesson => {
                s.lesson = None;
                return Rc::new(s);
            }
            Action::ToggleAuthoring => {
                s.draft = match s.draft {
                    Some(_) => None,
                    None => Some(Rc::default()),
                };
                return Rc::new(s);
            }
            Action::AuthorAdd {
                caption,
                ask,
                choices,
                answer,
            } => {
                let now = s.view.now_ms;
                match Draft::stop(now, &caption, &ask, &choices, &answer) {
                    Ok(stop) => {
                        Rc::make_mut(s.draft.get_or_insert_with(Rc::default)).add(stop);
                        s.notice = Some(format!("Stop added at {}.", crate::text::seconds(now, 3)));
                    }
                    Err(why) => s.notice = Some(why),
                }
                return Rc::new(s);
            }
            Action::AuthorRemoveLast => {
                if let Some(d) = s.draft.as_mut() {
                    Rc::make_mut(d).stops.pop();
                }
                return Rc::new(s);
            }
            Action::AuthorExport { title } => {
                let stops = s
                    .draft
                    .as_ref()
                    .map(|d| d.stops.clone())
                    .unwrap_or_default();
                let title = title.trim().to_string();
                if stops.is_empty() {
                    s.notice = Some("add at least one stop (a caption at a moment) first".into());
                } else if title.is_empty() {
                    s.notice = Some("give the lesson a title".into());
                } else {
                    match s.recipe() {
                        Ok(recipe) => s.effect(Effect::ExportLesson {
                            recipe,
                            title,
                            stops,
                        }),
                        Err(why) => s.notice = Some(why),
                    }
                }
                return Rc::new(s);
            }
            // `decide` takes it as what it stands for.
            Action::Advance => return self.decide(Action::Advance),
            Action::LessonNext | Action::LessonSkip => {
                let skip = matches!(action, Action::LessonSkip);
                let Some(mut l) = s.lesson.clone() else {
                    return self;
                };
                if l.done {
                    s.lesson = None;
                    return Rc::new(s);
                }
                if l.heading_to.is_none() {
                    match l.following() {
                        Some(to) => l.head_to(to),
                        None if !l.last_part() => {
                            let (lesson, part) = (l.lesson.clone(), l.part + 1);
                            return Rc::new(s.start_lesson(lesson, part));
                        }
                        None => {
                            l.head_to(l.step);
                            l.heading_to = None;
                            l.done = true;
                            s.lesson = Some(l);
                            s.running = false;
                            return Rc::new(s);
                        }
                    }
                }
                let stop = l.next_stop_ms().unwrap_or(0);
                s.lesson = Some(l);
                if skip {
                    s.jump(|t| t.seek(stop));
                    if s.timeline.borrow().now_ms() >= stop {
                        if let Some(l) = s.lesson.as_mut() {
                            l.arrive();
                        }
                    }
                } else {
                    // Play on to the stop (the frame loop stops there).
                    s.target_ms.set(s.view.now_ms);
                    s.running = true;
                    s.auto_paused = false;
                    return Rc::new(s);
                }
            }
            Action::CopyLink => {
                match s.recipe() {
                    Ok(recipe) => s.effect(Effect::MakeLink(recipe)),
                    Err(why) => s.notice = Some(why),
                }
                return Rc::new(s);
            }
            Action::LinkReady(Ok(link), copied) => {
                s.notice = Some(format!(
                    "{} ({} characters): it opens this run, paused at {}.",
                    if copied {
                        "Link copied"
                    } else {
                        "Link made (copy it from below the timeline)"
                    },
                    link.len(),
                    crate::text::seconds(s.view.now_ms, 1)
                ));
                s.share_link = Some(link);
                return Rc::new(s);
            }
            Action::Tell(what) => {
                s.notice = Some(what);
                return Rc::new(s);
            }
            Action::LinkReady(Err(why), _) => {
                s.notice = Some(format!("no link: {why}"));
                return Rc::new(s);
            }
            Action::ExportRun => {
                match s.recipe() {
                    Ok(recipe) => s.effect(Effect::Download(recipe)),
                    Err(why) => s.notice = Some(why),
                }
                return Rc::new(s);
            }
            Action::Reset { seed, nodes } => {
                let settings = Settings {
                    seed,
                    nodes: nodes.clamp(MIN_NODES, MAX_NODES),
                    ..s.settings.clone()
                };
                // A saved cluster is deleted (the controls asked first) and
                // the new run is saved in a new database; otherwise it runs
                // in memory as the old one did.
                let (storage, replacing) = match s.storage {
                    StorageState::Saved { cluster, .. } => (StorageState::Opening, Some(cluster)),
                    ref other => (other.clone(), None),
                };
                let mut fresh = AppState::build(settings.clone(), None, storage, s.outbox.clone());
                fresh.author = s.author.clone();
                fresh.projector = s.projector;
                if replacing.is_some() {
                    fresh.effect(Effect::Boot {
                        settings,
                        author: s.author,
                        replacing,
                    });
                }
                return Rc::new(fresh);
            }
            Action::SetSpeed(speed) => {
                s.settings.speed = speed.clamp(0.001, 1.0);
                s.save_meta();
                return Rc::new(s);
            }
            Action::SetLatency { min_ms, max_ms } => {
                s.settings.latency_min_ms = min_ms.min(max_ms);
                s.settings.latency_max_ms = max_ms.max(min_ms);
                let net = s.settings.net();
                s.act(Run::SetNet(net));
                s.save_meta();
            }
            Action::SetDropRate(p) => {
                s.settings.drop_rate = p.clamp(0.0, 1.0);
                let net = s.settings.net();
                s.act(Run::SetNet(net));
                s.save_meta();
            }
            Action::SetOptions {
                pre_vote,
                check_quorum,
            } => {
                s.settings.pre_vote = pre_vote;
                s.settings.check_quorum = check_quorum;
                s.act(Run::Options {
                    pre_vote,
                    check_quorum,
                });
                s.save_meta();
            }
            Action::SetBug(bug) => {
                let bugs = bug.map_or(BugSet::NONE, BugSet::only);
                if s.act(Run::Bugs(bugs)) {
                    s.notice = Some(match bug {
                        Some(b) => format!("Raft is broken on purpose from now on: {} ({}). Watch the safety panel.", b.name(), b.rule()),
                        None => "Every rule of Raft holds again from now on (what broke meanwhile stays broken).".into(),
                    });
                }
                s.save_meta();
            }
            Action::SetChecking(on) => {
                let r = s.timeline.borrow_mut().set_checking(on);
                if let Err(e) = r {
                    s.notice = Some(e);
                }
            }
            Action::Crash(id) => s.crash(id),
            Action::Restart(id) => s.restart(id),
            Action::CrashLeader => match s.view.leader {
                Some((id, _)) => s.crash(id),
                None => s.notice = Some("there is no leader to crash".into()),
            },
            Action::RestartAll => {
                let down: Vec<NodeId> = s
                    .view
                    .nodes
                    .iter()
                    .filter(|n| !n.up)
                    .map(|n| n.id)
                    .collect();
                if down.is_empty() {
                    s.notice = Some("no node is down".into());
                }
                for id in down {
                    s.restart(id);
                }
            }
            Action::TimeoutNow(id) => {
                s.act(Run::Timeout(id));
            }
            Action::TransferLeadership(id) => {
                s.act(Run::Transfer(id));
            }
            Action::AddNode => {
                if s.act(Run::AddNode) {
                    let id = s.node_ids().into_iter().max().unwrap_or(0);
                    s.notice = Some(format!(
                        "node {id} joins: it catches up as a learner, then becomes a voter"
                    ));
                }
            }
            Action::RemoveNode(id) => {
                s.act(Run::RemoveNode(id));
            }
            Action::Compact(id) => {
                s.act(Run::Compact(id));
            }
            Action::Read(id) => {
                let status = PaneStatus {
                    text: format!("reading through node {id}…"),
                    ok: true,
                };
                Rc::make_mut(&mut s.pane_status).insert(id, status);
                s.act(Run::Read(id));
            }
            Action::Isolate(id) => {
                s.act(Run::Isolate(id));
            }
            Action::HealNode(id) => {
                let cut: Vec<(NodeId, NodeId)> = s
                    .timeline()
                    .sim()
                    .cut_links()
                    .iter()
                    .copied()
                    .filter(|&(a, b)| a == id || b == id)
                    .collect();
                for (from, to) in cut {
                    s.act(Run::Heal { from, to });
                }
            }
            Action::CutLink { from, to } => {
                s.act(Run::Cut { from, to });
            }
            Action::HealLink { from, to } => {
                s.act(Run::Heal { from, to });
            }
            Action::HealAll => {
                s.act(Run::HealAll);
            }
            Action::DropMessage(id) => {
                s.act(Run::DropMessage(id));
            }
            Action::SetHold(on) => {
                s.act(Run::Hold(on));
            }
            Action::DeliverMessage(id) => {
                s.act(Run::Deliver(id));
            }
            Action::DeliverNext => {
                let next = s.timeline.borrow().sim().next_held();
                match next {
                    Some(id) => {
                        s.act(Run::Deliver(id));
                    }
                    None => s.notice = Some("no message is held".into()),
                }
            }
            Action::DuplicateMessage(id) => {
                s.act(Run::Duplicate(id));
            }
            Action::Send { node, .. } if self.starting() => {
                let status = PaneStatus {
                    text: "not sent: storage is still opening; try again in a moment".into(),
                    ok: false,
                };
                Rc::make_mut(&mut s.pane_status).insert(node, status);
                return Rc::new(s);
            }
            Action::Send { node, text } => match check_message(&s.author, &text) {
                Ok(command) => {
                    let seq = s.next_seq.entry(node).or_insert(0);
                    *seq += 1;
                    let seq = *seq;
                    let status = PaneStatus {
                        text: format!("message {seq} sent through node {node}…"),
                        ok: true,
                    };
                    Rc::make_mut(&mut s.pane_status).insert(node, status);
                    s.act(Run::Send {
                        node,
                        client: node as u64,
                        seq,
                        author: command.author().to_string(),
                        text: command.text().to_string(),
                    });
                }
                Err(why) => {
                    let status = PaneStatus {
                        text: format!("not sent: {why}"),
                        ok: false,
                    };
                    Rc::make_mut(&mut s.pane_status).insert(node, status);
                    return Rc::new(s);
                }
            },
            Action::SetAuthor(name) => {
                s.author = name;
                s.save_meta();
                return Rc::new(s);
            }
            Action::Select(sel) => {
                s.selection = if s.selection == sel {
                    Selection::None
                } else {
                    sel
                };
                return Rc::new(s);
            }
            Action::ToggleProjector => {
                s.projector = !s.projector;
                return Rc::new(s);
            }
            Action::ToggleFeedKind(kind) => {
                s.feed_hidden ^= kind.bit();
                return Rc::new(s);
            }
            Action::FeedNode(node) => {
                s.feed_node = node;
                return Rc::new(s);
            }
            Action::ToggleExperiments => {
                s.experiments_open = !s.experiments_open;
                return Rc::new(s);
            }
            Action::RunExperiment { trials } => {
                let e = Rc::make_mut(&mut s.experiment);
                let next = Experiment::of_kind(e.kind);
                let (max, typed) = (next.max_trials(), trials.trim());
                let trials = if typed.is_empty() {
                    Ok(next.trials)
                } else {
                    typed.parse::<u32>()
                };
                match trials {
                    Ok(trials) if (1..=max).contains(&trials) => {
                        let mut next = next;
                        next.trials = trials;
                        next.running = true;
                        let kind = next.kind;
                        *e = next;
                        s.effect(Effect::RunExperiment { kind, trials });
                    }
                    _ => {
                        e.error = Some(format!(
                            "trials: a whole number from 1 to {max}, not \"{typed}\""
                        ))
                    }
                }
                return Rc::new(s);
            }
            Action::ExperimentKind(kind) => {
                if let Some(kind) = KINDS.iter().map(|k| k.0).find(|k| *k == kind) {
                    if !s.experiment.running {
                        s.experiment = Rc::new(Experiment::of_kind(kind));
                    }
                }
                return Rc::new(s);
            }
            Action::CancelExperiment => {
                let e = Rc::make_mut(&mut s.experiment);
                if e.running {
                    e.running = false;
                    e.error = Some("cancelled".into());
                    s.effect(Effect::StopExperiment);
                }
                return Rc::new(s);
            }
            Action::ExperimentReply(reply) => {
                Rc::make_mut(&mut s.experiment).update(reply);
                return Rc::new(s);
            }
            Action::ToggleHelp => {
                s.help = !s.help;
                return Rc::new(s);
            }
            Action::CloseHelp => {
                s.help = false;
                return Rc::new(s);
            }
            Action::DismissNotice => return Rc::new(s),
            Action::Attach {
                cluster,
                settings,
                author,
            } => {
                let mut fresh = s.saved_cluster(cluster, settings, author, None);
                fresh.save_meta();
                fresh.flush_writes();
                return fresh.open_pending();
            }
            Action::Restore {
                cluster,
                settings,
                author,
                nodes,
                recipe,
            } => {
                // Why the saved run was not replayed, if there was one.
                let not_replayed = match recipe.as_deref().map(crate::json::recipe_from_json) {
                    None => None,
                    Some(Err(why)) => Some(format!("could not be read ({why})")),
                    Some(Ok(recipe)) => {
                        match Timeline::from_recipe_within(&recipe, MAX_OPENED_RUN_EVENTS) {
                            Ok(timeline) => {
                                let snapshots =
                                    nodes.iter().filter(|n| n.1.snapshot.is_some()).count();
                                let mut fresh = s.reloaded(
                                    cluster, settings, author, timeline, &recipe, snapshots,
                                );
                                return fresh.open_pending();
                            }
                            Err(OpenError::Invalid(why)) => {
                                Some(format!("could not be replayed ({why})"))
                            }
                            Err(too_busy) => {
                                Some(format!("was not replayed: {too_busy}, the page's limit"))
                            }
                        }
                    }
                };
                let count = nodes.len();
                let max_term = nodes.iter().map(|n| n.1.hard_state.term).max().unwrap_or(0);
                let entries: usize = nodes.iter().map(|n| n.1.entries.len()).sum();
                let snapshots = nodes.iter().filter(|n| n.1.snapshot.is_some()).count();
                let mut fresh = s.saved_cluster(cluster, settings, author, Some(nodes));
                let mut notice = format!(
                    "Restored the saved cluster: {count} nodes, terms up to {max_term}, {entries} log entries and {snapshots} snapshot(s) on disk. Each chat starts from its snapshot and refills as a leader learns what is committed."
                );
                if let Some(why) = not_replayed {
                    notice = format!(
                        "{notice} Its recorded run {why}; its timeline starts at this reload."
                    );
                }
                fresh.notice = Some(notice);
                fresh.flush_writes();
                return fresh.open_pending();
            }
            Action::DiskUnavailable(why) => {
                s.storage = StorageState::Memory {
                    why: format!(
                        "{why}. The cluster runs in memory: it works, but a reload starts over."
                    ),
                };
                return Rc::new(s);
            }
            Action::DiskFailed(why) => {
                if !s.attached() {
                    return self; // already reported
                }
                s.effect(Effect::Detach);
                s.timeline.borrow_mut().sim_mut().set_external_disk(false);
                s.storage = StorageState::Memory {
                    why: format!("{why}. The cluster goes on in memory; what happens from now on will not survive a reload."),
                };
            }
            Action::Durable {
                node,
                incarnation,
                write_id,
            } => {
                s.timeline
                    .borrow_mut()
                    .sim_mut()
                    .confirm_write(node, incarnation, write_id);
                let owed = s.owed.clone();
                let ready = owed.borrow().front().is_some_and(|a| !s.blocked(a));
                if ready {
                    // The commands owed first, at the moment they were made
                    // at; then the catch-up below (this write is confirmed
                    // already: confirming it again changes nothing).
                    return Rc::new(s).settle_owed().decide_now(Action::Durable {
                        node,
                        incarnation,
                        write_id,
                    });
                }
                // Catch up with where the run was going (what was due at the
                // write's moment included).
                if s.waiting_for_disk().is_none() {
                    let target = s.target_ms.get();
                    let _ = s.timeline.borrow_mut().advance(target);
                }
            }
            Action::RestartFrom { node, persisted } => {
                // IndexedDB holds what the node made durable: the same state
                // as the simulated disk the recipe replays from.
                let same = s
                    .timeline()
                    .sim()
                    .node(node)
                    .and_then(|v| v.storage.load().ok())
                    .is_some_and(|mine| mine == persisted);
                if same {
                    s.act(Run::Restart(node));
                } else {
                    s.notice = Some(format!("node {node}'s IndexedDB records differ from what it made durable in this run; it restarts from IndexedDB, and this moment cannot be replayed exactly"));
                    let r = s
                        .timeline
                        .borrow_mut()
                        .sim_mut()
                        .restart_from(node, persisted);
                    if let Err(e) = r {
                        s.notice = Some(e);
                    }
                }
            }
            Action::StorageUsage(bytes) => {
                if let StorageState::Saved { usage_bytes, .. } = &mut s.storage {
                    *usage_bytes = Some(bytes);
                }
                return Rc::new(s);
            }
            Action::OpenElsewhere { cluster } => {
                s.storage = StorageState::Elsewhere { cluster };
                return Rc::new(s);
            }
            Action::OpenOwnCluster => {
                s.storage = StorageState::Opening;
                s.effect(Effect::Boot {
                    settings: s.settings.clone(),
                    author: s.author.clone(),
                    replacing: None,
                });
                return Rc::new(s);
            }
        }
        s.refresh();
        s.flush_writes();
        Rc::new(s)
    }
}
