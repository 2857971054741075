//! The keyboard help overlay (opened with `?`).

use crate::state::Action;
use crate::state::Dispatch;
use yew::prelude::*;

pub struct Props {
    pub dispatch: Dispatch,
}

pub const SHORTCUTS: [(&str, &str); 14] = [
    ("space, k or PageUp", "pause / resume"),
    ("→, s or .", "step to the next event (pauses)"),
    ("PageDown", "a lesson's next stop (else: step)"),
    ("←, b or ,", "step back to the previous event (pauses)"),
    ("c", "crash the leader"),
    ("r", "restart every crashed node"),
    ("h", "heal all links"),
    ("m", "write a message (focus the first chat input)"),
    ("Enter (in a chat input)", "send through that node"),
    ("d", "deliver the next held message (hold mode)"),
    ("p", "projector mode (fits 1280×720)"),
    ("f", "full screen"),
    ("?", "this help"),
    ("Esc", "close this help"),
];

pub fn help(p: &Props) -> Html {
    let close = p
        .dispatch
        .to_callback()
        .reform(|_: MouseEvent| Action::CloseHelp);
    html! {
        <div class="overlay" role="dialog" aria-label="keyboard shortcuts" data-testid="help">
            <div class="dialog">
                <h2>{"Keyboard shortcuts"}</h2>
                <p>{"A presenter remote works too: its buttons send PageUp/PageDown or the arrow keys."}</p>
                <table>
                    { for SHORTCUTS.iter().map(|(k, what)| html! { <tr><td><kbd>{ *k }</kbd></td><td>{ *what }</td></tr> }) }
                </table>
                <p>{"Click a node to inspect, crash, restart, time out, isolate it, make it leader, compact its log now or remove it from the cluster; Add node (in the controls) adds one. Click a link to cut it one way or both; click a message in flight to drop it. Read on a chat pane makes a linearizable read through that node."}</p>
                <p>{"The timeline under the cluster goes back to any moment: drag it, or step back. Acting at a past moment starts a new branch; the old one stays in the branch list. Copy link and Export share the run (its seed, settings and every action, with their virtual times); Import, or a file dropped on the page, opens one."}</p>
                <button onclick={close}>{"Close"}</button>
            </div>
        </div>
    }
}
