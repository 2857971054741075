//! Shows a panic on the page, so that a broken page says so.

/// Writes `message` into the page's panic banner (outside yew's tree, since yew
/// may be the thing that failed).
pub fn show(message: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(el) = doc.get_element_by_id("panic") {
        el.set_text_content(Some(&format!(
            "raftchat stopped because of an internal error: {message}. Reload the page to start again."
        )));
        let _ = el.set_attribute("style", "display:block");
    }
}
