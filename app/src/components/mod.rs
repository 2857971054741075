//! One component per file.

pub mod app;
pub mod bug_menu;
pub mod chat_pane;
pub mod cluster_view;
pub mod controls;
pub mod event_feed;
pub mod frame_stats;
pub mod help;
pub mod inspector;
pub mod log_view;
pub mod panic_notice;
pub mod run_bar;
pub mod safety_panel;
pub mod storage_status;
