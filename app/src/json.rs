//! Recipes as JSON text, with the browser's own JSON parser and writer: the
//! page carries no JSON library of its own (`serde_json` would cost about a
//! tenth of the wasm). The text is the same as `Recipe::to_json` writes and
//! `Recipe::from_json` reads, and goes through the same checks.
//!
//! A seed may be any u64, beyond the 2^53 a JavaScript number holds exactly:
//! such integers are read as `BigInt` from their source text (the JSON.parse
//! "source text access" of current browsers) and written back as raw JSON;
//! a browser that cannot do either says so rather than round the number.

use raftchat_core::recipe::Recipe;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function parse_json(text) {
  return JSON.parse(text, function (key, value, context) {
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      if (context && typeof context.source === 'string' && /^\d+$/.test(context.source)) {
        return BigInt(context.source);
      }
      throw new Error('the number ' + (context ? context.source : value) + ' is too large for this browser to read exactly');
    }
    return value;
  });
}
export function stringify_json(value) {
  return JSON.stringify(value, function (key, v) {
    if (typeof v !== 'bigint') return v;
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    if (typeof JSON.rawJSON === 'function') return JSON.rawJSON(v.toString());
    throw new Error('the number ' + v + ' is too large for this browser to write exactly');
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn parse_json(text: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn stringify_json(value: &JsValue) -> Result<String, JsValue>;
}

/// A JavaScript error's message.
pub fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "an unknown error".into())
}

/// Reads and checks a recipe (a file, a link's content, the saved run).
pub fn recipe_from_json(json: &str) -> Result<Recipe, String> {
    Recipe::check_text(json)?;
    let value = parse_json(json).map_err(|e| {
        format!(
            "the run is damaged or cut short (not valid JSON: {})",
            message(e)
        )
    })?;
    // The version first, so that a newer format gets the right message.
    let version = js_sys::Reflect::get(&value, &"version".into()).ok();
    let version = match version.as_ref().and_then(|v| v.as_f64()) {
        Some(v) if v >= 0.0 && v.fract() == 0.0 => Some(v as u64),
        Some(_) => {
            return Err("this is not a raftchat run (its \"version\" is not a whole number)".into())
        }
        None => None,
    };
    Recipe::check_version(version)?;
    let recipe: Recipe = serde_wasm_bindgen::from_value(value)
        .map_err(|e| format!("this run's recipe is damaged: {e}"))?;
    recipe.accept()
}

/// A recipe as JSON text.
pub fn recipe_to_json(recipe: &Recipe) -> Result<String, String> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible()
        .serialize_large_number_types_as_bigints(true);
    let value = recipe
        .serialize(&serializer)
        .map_err(|e| format!("the run could not be written: {e}"))?;
    stringify_json(&value).map_err(message)
}
