//! Numbers as text without the float formatter and parser, whose code is a
//! large part of a small wasm (the page's size budget is 300 KB gzipped).

/// `v` with one decimal (SVG coordinates, hours).
pub fn tenths(v: f64) -> String {
    let t = (v * 10.0).round() as i64;
    let sign = if t < 0 { "-" } else { "" };
    let a = t.unsigned_abs();
    format!("{sign}{}.{}", a / 10, a % 10)
}

/// Virtual milliseconds as seconds with `decimals` places (0 to 3), rounded.
pub fn seconds(ms: u64, decimals: u32) -> String {
    let decimals = decimals.min(3);
    let scale = 10u64.pow(3 - decimals);
    let v = (ms + scale / 2) / scale;
    if decimals == 0 {
        return format!("{v} s");
    }
    let d = 10u64.pow(decimals);
    format!("{}.{:0w$} s", v / d, v % d, w = decimals as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_and_seconds() {
        assert_eq!(tenths(12.34), "12.3");
        assert_eq!(tenths(-0.26), "-0.3");
        assert_eq!(tenths(0.0), "0.0");
        assert_eq!(seconds(1_234, 3), "1.234 s");
        assert_eq!(seconds(1_250, 1), "1.3 s");
        assert_eq!(seconds(999, 0), "1 s");
        assert_eq!(seconds(5, 2), "0.01 s");
    }
}
