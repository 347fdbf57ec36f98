//! The report's chart, written as SVG by hand: horizontal bars, one
//! panel per measure, no fonts or libraries needed to make it.

use std::fmt::Write;

/// One panel: a bar group per label, one bar per series.
pub struct Panel<'a> {
    /// Heading above the panel.
    pub title: String,
    /// Unit of the values, after each bar's number.
    pub unit: &'a str,
    /// Names of the series, for the legend.
    pub series: &'a [&'a str],
    /// Each group: its label and one value per series.
    pub groups: Vec<(String, Vec<f64>)>,
}

const WIDTH: f64 = 860.0;
const LABEL: f64 = 200.0;
const BAR: f64 = 12.0;
const GAP: f64 = 8.0;
const COLORS: &[&str] = &["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];

/// Renders the panels one below the other.
pub fn svg(panels: &[Panel<'_>]) -> String {
    let mut body = String::new();
    let mut y = 10.0;
    for p in panels {
        y = panel(&mut body, p, y);
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{h}\" \
         viewBox=\"0 0 {WIDTH} {h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n",
        h = y + 10.0
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Draws one panel from `y`; returns the `y` below it.
fn panel(out: &mut String, p: &Panel<'_>, mut y: f64) -> f64 {
    let max = p
        .groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0, f64::max);
    let scale = if max > 0.0 {
        (WIDTH - LABEL - 90.0) / max
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "<text x=\"10\" y=\"{}\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        y + 14.0,
        escape(&p.title)
    );
    let mut x = LABEL;
    for (i, s) in p.series.iter().enumerate() {
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            y + 22.0,
            COLORS[i % COLORS.len()],
            x + 14.0,
            y + 31.0,
            escape(s)
        );
        x += 14.0 + 7.0 * s.len() as f64 + 20.0;
    }
    y += 42.0;
    for (label, values) in &p.groups {
        let h = BAR * values.len() as f64;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 8.0,
            y + h / 2.0 + 4.0,
            escape(label)
        );
        for (i, v) in values.iter().enumerate() {
            let w = (v * scale).max(0.5);
            let by = y + BAR * i as f64;
            let _ = writeln!(
                out,
                "<rect x=\"{LABEL}\" y=\"{by}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{} {}</text>",
                BAR - 2.0,
                COLORS[i % COLORS.len()],
                LABEL + w + 4.0,
                by + BAR - 3.0,
                number(*v),
                p.unit
            );
        }
        y += h + GAP;
    }
    y + 14.0
}

/// Three significant digits, without exponent.
pub fn number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_digits() {
        assert_eq!(number(0.0123), "0.0123");
        assert_eq!(number(1.234), "1.23");
        assert_eq!(number(512.0), "512");
        assert_eq!(number(12345.0), "12345");
    }

    #[test]
    fn svg_has_a_bar_per_value_and_escapes_labels() {
        let s = svg(&[Panel {
            title: "a < b".into(),
            unit: "s",
            series: &["save", "restore"],
            groups: vec![("x & y".into(), vec![1.0, 2.0])],
        }]);
        assert!(s.starts_with("<svg"));
        assert!(s.contains("a &lt; b") && s.contains("x &amp; y"));
        // Two legend squares, two bars, and the background.
        assert_eq!(s.matches("<rect").count(), 5);
    }
}
