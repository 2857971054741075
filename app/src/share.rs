//! Sharing a run: links, files, the clipboard. A link carries the run's recipe
//! in its fragment: `#run=v2.` then the recipe's compact JSON
//! ([`Recipe::to_link_json`]), deflated (the browser's own
//! `CompressionStream`, so no compressor in the wasm) and in URL-safe base64.
//! `#run=v1.` links (the plain JSON) are still read. Files are the recipe's
//! plain JSON.

use crate::state::Action;
use raftchat_core::recipe::{Recipe, MAX_RECIPE_BYTES};
use wasm_bindgen::prelude::*;

/// The fragment that marks a shared run, and its format version.
pub const LINK_PREFIX: &str = "#run=v2.";
/// The first links' fragment (plain JSON inside), still read.
const LINK_PREFIX_V1: &str = "#run=v1.";
/// A link's fragment is at most this long (a busy half hour deflates to well
/// under this).
pub const MAX_LINK_CHARS: usize = 2 << 20;

#[wasm_bindgen(inline_js = r#"
export async function deflate_base64url(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
export async function inflate_base64url(text, limit) {
  let bin;
  try {
    bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch (e) {
    throw new Error('the link is damaged: its run is not in URL-safe base64');
  }
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    let r;
    try {
      r = await reader.read();
    } catch (e) {
      throw new Error('the link is damaged or cut short: its run does not decompress');
    }
    if (r.done) break;
    n += r.value.length;
    if (n > limit) {
      reader.cancel();
      throw new Error('the linked run is larger than ' + (limit >> 20) + ' MB');
    }
    chunks.push(r.value);
  }
  const all = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) { all.set(c, o); o += c.length; }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(all);
  } catch (e) {
    throw new Error('the link is damaged: its run is not text');
  }
}
export function download_text(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
export async function read_file(file, limit) {
  if (file.size > limit) {
    throw new Error('the file is ' + file.size + ' bytes; a run is at most ' + (limit >> 20) + ' MB');
  }
  return await file.text();
}
export async function copy_text(text) {
  await navigator.clipboard.writeText(text);
}
export function page_url() {
  return location.origin + location.pathname + location.search;
}
export function take_run_fragment() {
  const h = location.hash;
  if (!h.startsWith('#run=')) return '';
  history.replaceState(null, '', location.pathname + location.search);
  return h;
}
export function take_lesson_fragment() {
  const h = location.hash;
  if (!h.startsWith('#lesson=')) return '';
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(h.slice(8));
}
export async function fetch_text(url, limit) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ' could not be loaded (HTTP ' + r.status + ')');
  const t = await r.text();
  if (t.length > limit) throw new Error(url + ' is larger than ' + limit + ' bytes');
  return t;
}
export function listen_for_runs(on_file, on_fragment) {
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) { e.preventDefault(); on_file(f); }
  });
  window.addEventListener('hashchange', () => {
    const h = take_run_fragment();
    if (h) on_fragment(h);
  });
}
export function after_paint() {
  return new Promise((done) => {
    requestAnimationFrame(() => setTimeout(done, 0));
    setTimeout(done, 200);
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn deflate_base64url(text: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn inflate_base64url(text: &str, limit: u32) -> Result<JsValue, JsValue>;
    fn download_text(name: &str, text: &str);
    #[wasm_bindgen(catch)]
    async fn read_file(file: &web_sys::File, limit: u32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn copy_text(text: &str) -> Result<JsValue, JsValue>;
    fn page_url() -> String;
    /// The page's `#lesson=ID` fragment (a built-in lesson's id), if any,
    /// removed from the address bar.
    pub fn take_lesson_fragment() -> String;
    #[wasm_bindgen(catch)]
    async fn fetch_text(url: &str, limit: u32) -> Result<JsValue, JsValue>;
    /// The page's `#run=…` fragment, if any, removed from the address bar (a
    /// reload then keeps the run as it went on, not as it was shared).
    pub fn take_run_fragment() -> String;
    fn listen_for_runs(
        on_file: &Closure<dyn FnMut(web_sys::File)>,
        on_fragment: &Closure<dyn FnMut(String)>,
    );
    /// Resolves once the page has painted: a task after the next animation
    /// frame (or after 200 ms in a hidden tab, which paints nothing).
    #[wasm_bindgen(catch)]
    pub async fn after_paint() -> Result<JsValue, JsValue>;
}

use crate::json::{lesson_from_json, lesson_json, message, recipe_from_json, recipe_to_json};
use crate::lesson::DraftStop;
use raftchat_core::lesson::{Lesson, MAX_LESSON_BYTES};

/// The link that opens `recipe`.
pub async fn link(recipe: &Recipe) -> Result<String, String> {
    let packed = deflate_base64url(&recipe_to_json(&recipe.to_link_form())?)
        .await
        .map_err(message)?;
    let packed = packed.as_string().unwrap_or_default();
    Ok(format!("{}{LINK_PREFIX}{packed}", page_url()))
}

/// The run in a link's fragment (`#run=…`).
pub async fn from_fragment(fragment: &str) -> Result<Recipe, String> {
    if fragment.len() > MAX_LINK_CHARS {
        return Err(format!(
            "the link is {} characters long; a shared run is at most {} MB",
            fragment.len(),
            MAX_LINK_CHARS >> 20
        ));
    }
    let Some(packed) = fragment
        .strip_prefix(LINK_PREFIX)
        .or_else(|| fragment.strip_prefix(LINK_PREFIX_V1))
    else {
        let version = fragment
            .strip_prefix("#run=")
            .and_then(|r| r.split('.').next())
            .unwrap_or("");
        return Err(format!(
            "the link's run is in format \"{version}\"; this raftchat reads \"v1\" and \"v2\" links"
        ));
    };
    let json = inflate_base64url(packed, MAX_RECIPE_BYTES as u32)
        .await
        .map_err(message)?;
    recipe_from_json(&json.as_string().unwrap_or_default())
}

/// The run in a file (exported, or written by hand).
pub async fn from_file(file: &web_sys::File) -> Result<Recipe, String> {
    let text = read_file(file, MAX_RECIPE_BYTES as u32)
        .await
        .map_err(message)?;
    recipe_from_json(&text.as_string().unwrap_or_default())
}

/// A built-in lesson, served beside the page (`lessons/{id}.json`).
pub async fn fetch_lesson(id: &str) -> Result<Lesson, String> {
    if !raftchat_core::lesson::BUILT_IN
        .iter()
        .any(|(i, _)| *i == id)
    {
        let shown: String = id.chars().take(40).collect();
        return Err(format!("there is no built-in lesson \"{shown}\""));
    }
    let text = fetch_text(&format!("lessons/{id}.json"), MAX_LESSON_BYTES as u32)
        .await
        .map_err(message)?;
    lesson_from_json(&text.as_string().unwrap_or_default())
}

/// A lesson in a file (exported from the page, or written by hand).
pub async fn lesson_from_file(file: &web_sys::File) -> Result<Lesson, String> {
    let text = read_file(file, MAX_LESSON_BYTES as u32)
        .await
        .map_err(message)?;
    lesson_from_json(&text.as_string().unwrap_or_default())
}

/// Downloads a lesson written in the page (`{id}.json`, the id made from
/// the title).
pub fn export_lesson(recipe: &Recipe, title: &str, stops: &[DraftStop]) -> Result<(), String> {
    let id = lesson_id(title);
    let text = lesson_json(recipe, &id, title, stops)?;
    download_text(&format!("{id}.json"), &text);
    Ok(())
}

/// A lesson id from its title: lowercase letters, digits and dashes.
pub fn lesson_id(title: &str) -> String {
    let mut id = String::new();
    // ASCII only: Unicode case tables would cost the wasm kilobytes.
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-');
    let id: String = id.chars().take(64).collect();
    if id.is_empty() {
        "lesson".into()
    } else {
        id
    }
}

/// Downloads `recipe` as a JSON file.
pub fn export(recipe: &Recipe) -> Result<(), String> {
    let name = format!(
        "raftchat-seed{}-{}s.json",
        recipe.config.seed,
        recipe.at_ms / 1000
    );
    download_text(&name, &recipe_to_json(recipe)?);
    Ok(())
}

/// Puts `text` on the clipboard; the browser may refuse.
pub async fn copy(text: &str) -> Result<(), String> {
    copy_text(text).await.map(|_| ()).map_err(message)
}

/// Opens ([`Action::OpenRun`]) the run of every file dropped on the page and
/// of every `#run=` link opened in this tab. For the page's lifetime.
pub fn listen(emit: yew::Callback<Action>) {
    let on_file = {
        let emit = emit.clone();
        Closure::<dyn FnMut(web_sys::File)>::new(move |file: web_sys::File| {
            let emit = emit.clone();
            wasm_bindgen_futures::spawn_local(async move {
                emit.emit(Action::OpenRun(from_file(&file).await))
            });
        })
    };
    let on_fragment = Closure::<dyn FnMut(String)>::new(move |fragment: String| {
        let emit = emit.clone();
        wasm_bindgen_futures::spawn_local(async move {
            emit.emit(Action::OpenRun(from_fragment(&fragment).await))
        });
    });
    listen_for_runs(&on_file, &on_fragment);
    on_file.forget();
    on_fragment.forget();
}
