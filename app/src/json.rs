//! Recipes as JSON text, with the browser's own JSON parser and writer: the
//! page carries no JSON library of its own (`serde_json` would cost about a
//! tenth of the wasm). The text is the same as `Recipe::to_json` writes and
//! `Recipe::from_json` reads, and goes through the same checks.
//!
//! A seed may be any u64, beyond the 2^53 a JavaScript number holds exactly:
//! such integers are read as `BigInt` from their source text (the JSON.parse
//! "source text access" of current browsers) and written back as raw JSON;
//! a browser that cannot do either says so rather than round the number.

use raftchat_core::lesson::{Lesson, LessonStep, Part, Question, Target};
use raftchat_core::recipe::Recipe;
use raftchat_core::NodeId;
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
    recipe_from_value(value)
}

/// Reads and checks a recipe already parsed from JSON.
fn recipe_from_value(value: JsValue) -> Result<Recipe, String> {
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

/// Reads and checks a lesson (a built-in one, or a file). The page reads
/// only what it plays — each step's stop time, caption, targets and
/// question; conditions and expectations are for `raftchat-sim --lesson`
/// and the tests (a serde reader of the whole format would cost the page's
/// wasm about as much as the lessons' own code) — then checks the result
/// with the core's own rules.
pub fn lesson_from_json(json: &str) -> Result<Lesson, String> {
    Lesson::check_text(json)?;
    let value = parse_json(json).map_err(|e| {
        format!(
            "the lesson is damaged or cut short (not valid JSON: {})",
            message(e)
        )
    })?;
    let not_lesson = |what: &str| format!("this is not a raftchat lesson ({what})");
    if !value.is_object() {
        return Err(not_lesson("a lesson is a JSON object"));
    }
    let version = field(&value, "version")
        .as_f64()
        .ok_or_else(|| not_lesson("it has no \"version\""))?;
    let mut parts = Vec::new();
    for (p, part) in array(&value, "parts")?.iter().enumerate() {
        let run = recipe_from_value(field(&part, "run"))
            .map_err(|e| format!("part {}'s run: {e}", p + 1))?;
        let mut steps = Vec::new();
        for (s, step) in array(&part, "steps")?.iter().enumerate() {
            let at_ms = number(&step, "at_ms");
            let conditional = !field(&step, "when").is_undefined();
            let Some(stop_ms) = number(&step, "stop_ms").or(at_ms.filter(|_| !conditional)) else {
                return Err(format!(
                    "part {}, step {}: a step that stops at a condition (\"when\") needs its \"stop_ms\": fill them in with raftchat-sim --lesson FILE --write",
                    p + 1,
                    s + 1
                ));
            };
            let point = array(&step, "point")?
                .iter()
                .map(|t| target(&t))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("part {}, step {}: an unknown target", p + 1, s + 1))?;
            let q = field(&step, "question");
            let question = q.is_object().then(|| Question {
                ask: text(&q, "ask"),
                choices: array(&q, "choices")
                    .unwrap_or_default()
                    .iter()
                    .map(|c| c.as_string().unwrap_or_default())
                    .collect(),
                answer: number(&q, "answer").unwrap_or(u64::MAX) as usize,
                explain: text(&q, "explain"),
            });
            steps.push(LessonStep {
                // The page plays from stop times only.
                at_ms: Some(stop_ms),
                when: None,
                within_ms: None,
                stop_ms: Some(stop_ms),
                caption: text(&step, "caption"),
                point,
                question,
                expect: Vec::new(),
            });
        }
        parts.push(Part { run, steps });
    }
    let lesson = Lesson {
        version: version as u32,
        id: text(&value, "id"),
        title: text(&value, "title"),
        summary: text(&value, "summary"),
        parts,
    };
    lesson.validate()?;
    Ok(lesson)
}

fn field(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn text(v: &JsValue, key: &str) -> String {
    field(v, key).as_string().unwrap_or_default()
}

/// A whole number (lesson times are far below 2^53, exact as doubles).
fn number(v: &JsValue, key: &str) -> Option<u64> {
    field(v, key)
        .as_f64()
        .filter(|n| *n >= 0.0 && n.fract() == 0.0)
        .map(|n| n as u64)
}

/// A list field (missing: empty).
fn array(v: &JsValue, key: &str) -> Result<js_sys::Array, String> {
    let a = field(v, key);
    if a.is_undefined() {
        return Ok(js_sys::Array::new());
    }
    a.dyn_into::<js_sys::Array>()
        .map_err(|_| format!("this is not a raftchat lesson (\"{key}\" must be a list)"))
}

/// A target: `"log"`, `"safety"`, `"held"`, `{"node": 3}`, `{"chat": 3}`,
/// `{"link": [1, 2]}` or `{"cell": {"node": 3, "index": 4}}`.
fn target(t: &JsValue) -> Option<Target> {
    if let Some(name) = t.as_string() {
        return match name.as_str() {
            "log" => Some(Target::Log),
            "safety" => Some(Target::Safety),
            "held" => Some(Target::Held),
            _ => None,
        };
    }
    let id = |key| number(t, key).map(|n| n as NodeId);
    if let Some(n) = id("node") {
        return Some(Target::Node(n));
    }
    if let Some(n) = id("chat") {
        return Some(Target::Chat(n));
    }
    let cell = field(t, "cell");
    if cell.is_object() {
        return Some(Target::Cell {
            node: number(&cell, "node")? as NodeId,
            index: number(&cell, "index")?,
        });
    }
    let link = field(t, "link").dyn_into::<js_sys::Array>().ok()?;
    Some(Target::Link([
        link.get(0).as_f64()? as NodeId,
        link.get(1).as_f64()? as NodeId,
    ]))
}

/// A lesson written in the page, as JSON text: one part — the run from its
/// start to its last stop — and a step at each stop.
pub fn lesson_json(
    recipe: &Recipe,
    id: &str,
    title: &str,
    stops: &[crate::lesson::DraftStop],
) -> Result<String, String> {
    let end_ms = stops.last().map_or(0, |s| s.at_ms);
    let run = Recipe {
        at_ms: 0,
        end_ms,
        ..recipe.clone()
    };
    let run = parse_json(&recipe_to_json(&run)?).map_err(message)?;
    let set = |o: &js_sys::Object, k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(o, &k.into(), &v);
    };
    let steps = js_sys::Array::new();
    for s in stops {
        let step = js_sys::Object::new();
        set(&step, "at_ms", (s.at_ms as f64).into());
        set(&step, "stop_ms", (s.at_ms as f64).into());
        set(&step, "caption", s.caption.as_str().into());
        if let Some(q) = &s.question {
            let question = js_sys::Object::new();
            set(&question, "ask", q.ask.as_str().into());
            let choices: js_sys::Array = q.choices.iter().map(|c| JsValue::from_str(c)).collect();
            set(&question, "choices", choices.into());
            set(&question, "answer", (q.answer as f64).into());
            set(&step, "question", question.into());
        }
        steps.push(&step);
    }
    let part = js_sys::Object::new();
    set(&part, "run", run);
    set(&part, "steps", steps.into());
    let lesson = js_sys::Object::new();
    set(&lesson, "version", 1.into());
    set(&lesson, "id", id.into());
    set(&lesson, "title", title.into());
    set(&lesson, "summary", "".into());
    set(&lesson, "parts", js_sys::Array::of1(&part).into());
    stringify_json(&lesson.into()).map_err(message)
}
