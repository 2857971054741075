//! What the reducer asks the outside world to do. The reducer decides and
//! queues [`Effect`]s; the runner (`runner.rs`) carries them out after
//! the page is redrawn (IndexedDB, the clipboard, downloads, start-up) and
//! dispatches what came of them back as actions. The reducer never touches
//! IndexedDB itself, so it can be tested without one.

use crate::settings::Settings;
use crate::storage::ClusterMeta;
use raftchat_core::recipe::Recipe;
use raftchat_core::sim::DiskWrite;
use raftchat_core::storage::PersistedState;
use raftchat_core::{ChatCommand, Membership, NodeId};

#[derive(Debug)]
pub enum Effect {
    /// Make these writes durable, each node's in order; each confirmation comes
    /// back as `Action::Durable`.
    Write(Vec<DiskWrite<ChatCommand>>),
    /// A crash: the node's writes not yet begun are lost. (One in progress
    /// completes or not, as on a real disk.)
    Discard(NodeId),
    /// A jump in time: confirmations of writes handed out before this are for
    /// a run that no longer exists and are dropped.
    NewEpoch,
    /// After a jump in time: the node's records become this state.
    ReplaceNode(NodeId, PersistedState<ChatCommand>),
    /// A server left the cluster (or never existed at the new moment): its
    /// records are deleted.
    DeleteNode(NodeId),
    /// Save the cluster's settings, node list and recipe.
    SaveMeta(ClusterMeta),
    /// Read the node back from IndexedDB (booting into this configuration if it
    /// has none); comes back as `Action::RestartFrom`.
    ReadNode(NodeId, Membership),
    /// Stop writing (after a failure): the cluster goes on in memory.
    Detach,
    /// Open a cluster of this tab's own, or replace (delete) the saved cluster
    /// `replacing`, then open a new one; comes back as `Action::Attach`,
    /// `Action::Restore` or a failure.
    Boot {
        settings: Settings,
        author: String,
        replacing: Option<u64>,
    },
    /// Make a link to the run and try to copy it; comes back as `Action::LinkReady`.
    MakeLink(Recipe),
    /// Download the run as a JSON file.
    Download(Recipe),
    /// Run an experiment in a worker (stopping one that runs); its replies
    /// come back as `Action::ExperimentReply`.
    RunExperiment { kind: &'static str, trials: u32 },
    /// Stop the running experiment.
    StopExperiment,
    /// Once the page is drawn, come back as `Action::OpenMore(n)`: the next
    /// slice of a run being opened.
    OpenMore(u64),
    /// Fetch a built-in lesson; comes back as `Action::OpenLesson`.
    FetchLesson(String),
    /// Download a lesson written in the page: the run and its stops.
    ExportLesson {
        recipe: Recipe,
        title: String,
        stops: Vec<crate::lesson::DraftStop>,
    },
}
