//! raftchat in the browser: a thin entry point.

mod components;
mod state;

fn main() {
    // A panic shows on the page (and in the console) instead of a dead page.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        components::panic_notice::show(&info.to_string());
    }));
    yew::Renderer::<components::app::App>::new().render();
}
