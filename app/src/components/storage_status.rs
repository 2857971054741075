//! Where the cluster is kept, in one line under the controls.

use crate::state::Dispatch;
use crate::state::{Action, StorageState};
use raftchat_core::NodeId;
use yew::prelude::*;

pub struct Props {
    pub storage: StorageState,
    /// The node whose disk write virtual time is waiting for, if any.
    pub waiting_for: Option<NodeId>,
    pub dispatch: Dispatch,
}

pub fn storage_status(p: &Props) -> Html {
    let (state, body) = match &p.storage {
        StorageState::Opening => ("opening", html! { {"Opening storage…"} }),
        StorageState::Saved { usage_bytes, .. } => (
            "saved",
            html! { <>
                {"Each node saves to IndexedDB: a reload brings the cluster back."}
                if let Some(bytes) = usage_bytes {
                    <span class="usage" data-testid="storage-usage">{ format!(" Site storage ≈ {} KB.", (bytes / 1024.0).round() as u64) }</span>
                }
            </> },
        ),
        StorageState::Memory { why } => (
            "memory",
            html! { <span class="warn">{ format!("Not saved: {why}") }</span> },
        ),
        StorageState::Elsewhere { .. } => {
            let open = p
                .dispatch
                .to_callback()
                .reform(|_: MouseEvent| Action::OpenOwnCluster);
            (
                "elsewhere",
                html! { <>
                    <span class="warn">{"This cluster is open in another tab, which saves it. This tab runs a separate cluster in memory."}</span>
                    {" "}<button data-testid="open-own-cluster" onclick={open}>{"Open my own saved cluster"}</button>
                </> },
            )
        }
    };
    html! {
        <p class="storage" data-testid="storage" data-state={state}>
            { body }
            if let Some(node) = p.waiting_for {
                <span class="waiting" data-testid="waiting-for-disk">{ format!(" Waiting for node {node}'s disk…") }</span>
            }
        </p>
    }
}
