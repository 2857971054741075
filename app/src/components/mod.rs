//! One component per file. Those with no state of their own are plain
//! functions returning `Html` (each component type costs the page's wasm
//! about a kilobyte; they re-rendered with the page anyway).

pub mod app;
pub mod bug_menu;
pub mod chat_pane;
pub mod cluster_view;
pub mod controls;
pub mod event_feed;
pub mod experiments_panel;
pub mod frame_stats;
pub mod held_list;
pub mod help;
pub mod inspector;
pub mod lesson_panel;
pub mod log_view;
pub mod panic_notice;
pub mod run_bar;
pub mod safety_panel;
pub mod storage_status;
