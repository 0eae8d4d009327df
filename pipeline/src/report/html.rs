//! The pieces every blend page is built from: escaping, number formats, the shared style
//! sheet and the page head. Pages are self-contained: inline CSS and SVG, no scripts, no
//! network.

use std::fmt::Write as _;

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

pub const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}.warn{background:#fff4e5;border-left:4px solid #e67e22;padding:.5rem 1rem;margin:.5rem 0}\
.muted{color:#666;font-size:.85rem}code{font-size:.85rem}svg .label{font-size:12px;fill:#333}svg .value{font-size:12px;fill:#555}\
.funnel :is(td,th):nth-child(2),.rules :is(td,th):nth-child(2),.rules :is(td,th):nth-child(5),.shards :is(td,th):nth-child(2),.shards :is(td,th):nth-child(5),.shards :is(td,th):nth-child(6){text-align:left}.domains :is(td,th):nth-child(2){text-align:left}\
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:9rem}.card b{display:block;font-size:1.3rem}";

/// Opens a page: `<head>` with `title` and the style sheet, the `<h1>`, then `subtitle`
/// (HTML, already escaped) as a muted line.
pub fn page_start(html: &mut String, title: &str, subtitle: &str) {
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>\
         <p class=\"muted\">{subtitle}</p>",
        title = escape(title),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_helpers() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(percent(1, 4), "25.0%");
        assert_eq!(
            escape("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
