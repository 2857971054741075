//! raftchat in the browser: a thin entry point.

fn main() {
    raftchat_app::start();
}
