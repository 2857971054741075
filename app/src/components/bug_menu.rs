//! "Break Raft": switch one rule of Raft off, to show what it prevents. One
//! switch at a time; a warning stays up while one is on. The switch is a step
//! of the run's recipe, so it is saved with the cluster and in shared runs.

use crate::state::{Action, Dispatch};
use raftchat_core::bugs::{Bug, BugSet};
use yew::prelude::*;

pub struct Props {
    pub bugs: BugSet,
    pub dispatch: Dispatch,
}

pub fn bug_menu(p: &Props) -> Html {
    let on = p.bugs.iter().next();
    html! {
        <>
            // Opened by hand only: the red warning below says what is on, and
            // an open menu would push the cluster down on a projector.
            <details class="bugs" data-testid="bugs">
                <summary>{"Break Raft…"}</summary>
                <p class="hint">{"Switch one rule off, then crash, cut and chat: the safety panel turns red when the rule's reason shows. Off again: the rule holds from then on."}</p>
                <ul>
                    { for Bug::ALL.iter().map(|&bug| {
                        let checked = p.bugs.has(bug);
                        let onchange = p.dispatch.to_callback().reform(move |_: Event| {
                            Action::SetBug(if checked { None } else { Some(bug) })
                        });
                        html! {
                            <li>
                                <label>
                                    <input type="checkbox" data-testid={format!("bug-{}", bug.name())} {checked} {onchange} />
                                    <code>{ bug.name() }</code>{" "}<small>{ bug.rule() }</small>
                                </label>
                            </li>
                        }
                    }) }
                </ul>
            </details>
            if let Some(bug) = on {
                <p class="bug-warning" role="alert" data-testid="bug-warning">
                    { format!("Raft is broken on purpose: {} is off ({}).", bug.name(), bug.rule()) }
                </p>
            }
        </>
    }
}
