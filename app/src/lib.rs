//! raftchat's classroom interface.
//!
//! One-way data flow: the simulator (in [`state`]) is changed only by
//! [`state::Action`]s; after each change the reducer takes a read-only
//! [`view::ClusterView`] of it, and the components draw only from that view.
//! The reducer's requests to the world ([`effect::Effect`]) are carried out by
//! [`runner::Runner`] (IndexedDB through [`persistence`], start-up through
//! [`boot`], links and files through [`share`]), which dispatches the results
//! back as actions. No module imports one that imports it.

pub mod boot;
pub mod components;
pub mod effect;
pub mod experiments;
pub mod feed;
pub mod json;
pub mod lesson;
pub mod persistence;
pub mod runner;
pub mod settings;
pub mod share;
pub mod state;
pub mod storage;
pub mod text;
pub mod view;

/// Installs the panic hook and renders the page into `<body>`.
pub fn start() {
    // A panic shows on the page (and in the console) instead of a dead page.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        components::panic_notice::show(&info.to_string());
    }));
    yew::Renderer::<components::app::App>::new().render();
}
