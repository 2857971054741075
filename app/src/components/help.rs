//! The keyboard help overlay (opened with `?`).

use crate::state::Action;
use crate::state::Dispatch;
use yew::prelude::*;

pub struct Props {
    pub dispatch: Dispatch,
}

/// The overlay's text: static HTML (the shortcuts and how to use the page),
/// parsed by the browser rather than built element by element.
const HELP_HTML: &str = concat!(
    "<div><h2>Keyboard shortcuts</h2>",
    "<p>A presenter remote works too: its buttons send PageUp/PageDown or the arrow keys.</p>",
    "<table>",
    "<tr><td><kbd>space, k or PageUp</kbd></td><td>pause / resume</td></tr>",
    "<tr><td><kbd>→, s or .</kbd></td><td>step to the next event (pauses)</td></tr>",
    "<tr><td><kbd>PageDown</kbd></td><td>a lesson's next stop (else: step)</td></tr>",
    "<tr><td><kbd>←, b or ,</kbd></td><td>step back to the previous event (pauses)</td></tr>",
    "<tr><td><kbd>c</kbd></td><td>crash the leader</td></tr>",
    "<tr><td><kbd>r</kbd></td><td>restart every crashed node</td></tr>",
    "<tr><td><kbd>h</kbd></td><td>heal all links</td></tr>",
    "<tr><td><kbd>m</kbd></td><td>write a message (focus the first chat input)</td></tr>",
    "<tr><td><kbd>Enter (in a chat input)</kbd></td><td>send through that node</td></tr>",
    "<tr><td><kbd>d</kbd></td><td>deliver the next held message (hold mode)</td></tr>",
    "<tr><td><kbd>p</kbd></td><td>projector mode (fits 1280×720)</td></tr>",
    "<tr><td><kbd>f</kbd></td><td>full screen</td></tr>",
    "<tr><td><kbd>?</kbd></td><td>this help</td></tr>",
    "<tr><td><kbd>Esc</kbd></td><td>close this help</td></tr>",
    "</table>",
    "<p>Click a node to inspect, crash, restart, time out, isolate it, make it leader, compact its log now or remove it from the cluster; Add node (in the controls) adds one. Click a link to cut it one way or both; click a message in flight to drop it. Read on a chat pane makes a linearizable read through that node.</p>",
    "<p>The timeline under the cluster goes back to any moment: drag it, or step back. Acting at a past moment starts a new branch; the old one stays in the branch list. Copy link and Export share the run (its seed, settings and every action, with their virtual times); Import, or a file dropped on the page, opens one.</p>",
    "</div>",
);

pub fn help(p: &Props) -> Html {
    let close = p
        .dispatch
        .to_callback()
        .reform(|_: MouseEvent| Action::CloseHelp);
    html! {
        <div class="overlay" role="dialog" aria-label="keyboard shortcuts" data-testid="help">
            <div class="dialog">
                { Html::from_html_unchecked(HELP_HTML.into()) }
                <button onclick={close}>{"Close"}</button>
            </div>
        </div>
    }
}
