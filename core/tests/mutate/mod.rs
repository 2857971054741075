//! Damage for JSON documents, at random: one change to one value (a number
//! pushed to an edge or moved by one, a field dropped, an array's item
//! duplicated or moved, a string replaced, a value copied from elsewhere).
//! Shared by `core/tests/damaged_input.rs` and the page's own test of damaged
//! links and files (`app/tests/components.rs`).

use raftchat_core::rng::Rng;
use serde_json::Value;

/// Every number, string, array and object in `v`, as JSON pointers.
fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                paths(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                paths(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

fn edge_number(rng: &mut Rng) -> Value {
    let edges: [Value; 14] = [
        0.into(),
        1.into(),
        2.into(),
        3.into(),
        9.into(),
        10.into(),
        (-1).into(),
        u32::MAX.into(),
        (u32::MAX as u64 + 1).into(),
        u64::MAX.into(),
        (1u64 << 53).into(),
        0.5.into(),
        1e300.into(),
        604_800_000.into(),
    ];
    edges[rng.below(edges.len())].clone()
}

/// `json` with one to three random changes (seeded by `seed`), as JSON text.
pub fn damaged(json: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut v: Value = serde_json::from_str(json).expect("the source is JSON");
    for _ in 0..1 + rng.below(3) {
        mutate(&mut v, &mut rng);
    }
    v.to_string()
}

/// One random change somewhere in `v`.
fn mutate(v: &mut Value, rng: &mut Rng) {
    let mut all = Vec::new();
    paths(v, String::new(), &mut all);
    // Most changes keep the JSON's shape (a number for a number), so that
    // they reach past the reader's type checks into the run itself.
    let numbers: Vec<&String> = all
        .iter()
        .filter(|p| v.pointer(p).is_some_and(Value::is_number))
        .collect();
    let at = if !numbers.is_empty() && rng.below(3) > 0 {
        numbers[rng.below(numbers.len())].clone()
    } else {
        all[rng.below(all.len())].clone()
    };
    let copy_from = all[rng.below(all.len())].clone();
    let donor = v.pointer(&copy_from).cloned().unwrap_or(Value::Null);
    let Some(target) = v.pointer_mut(&at) else {
        return;
    };
    match (rng.below(8), &mut *target) {
        (0..=5, Value::Number(n)) => {
            let old = n.as_u64().unwrap_or(0);
            *target = match rng.below(3) {
                0 => edge_number(rng),
                1 => old.saturating_add(1).into(),
                _ => old.saturating_sub(1).into(),
            };
        }
        (3, Value::Array(a)) if !a.is_empty() => {
            let i = rng.below(a.len());
            let x = a[i].clone();
            a.insert(rng.below(a.len() + 1), x);
        }
        (4, Value::Array(a)) if !a.is_empty() => {
            let (i, j) = (rng.below(a.len()), rng.below(a.len()));
            a.swap(i, j);
        }
        (5, Value::Object(o)) if !o.is_empty() => {
            let k = o.keys().nth(rng.below(o.len())).unwrap().clone();
            o.remove(&k);
        }
        (6, Value::String(s)) => {
            *s = ["", " ", "x", "commit-old-term", "leader", "ü", "\u{0}"][rng.below(7)].into();
        }
        _ => *target = donor,
    }
}
