pub mod app;
pub mod cluster_status;
pub mod panic_notice;
