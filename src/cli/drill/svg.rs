//! The drill timeline as a hand-written SVG: acknowledged writes per second
//! per region on top, replication lag (p99 over the last second) per link
//! below, and every event as a labelled vertical line across both.

use std::fmt::Write;

/// One line of a chart: a name and (seconds, value) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Everything drawn.
pub struct Timeline<'a> {
    pub title: &'a str,
    pub seconds: f64,
    pub writes: Vec<Series>,
    pub lags: Vec<Series>,
    /// (seconds, label).
    pub events: Vec<(f64, String)>,
}

const WIDTH: f64 = 960.0;
const PANEL: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const GAP: f64 = 50.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Renders the timeline.
pub fn render(timeline: &Timeline) -> String {
    let height = TOP + 2.0 * PANEL + GAP + 40.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(timeline.title)
    );
    panel(
        &mut out,
        timeline,
        &timeline.writes,
        TOP,
        "acknowledged writes/s",
        Scale::Linear,
    );
    panel(
        &mut out,
        timeline,
        &timeline.lags,
        TOP + PANEL + GAP,
        "lag p99, ms (last 1 s; log scale)",
        Scale::Log,
    );
    let plot_width = WIDTH - LEFT - RIGHT;
    for (at, label) in &timeline.events {
        let x = LEFT + at / timeline.seconds.max(1.0) * plot_width;
        let bottom = TOP + 2.0 * PANEL + GAP;
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom}" stroke="#555" stroke-dasharray="4 3"/>"##
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" transform="rotate(-90 {:.1} {:.1})" fill="#333">{}</text>"##,
            x - 3.0,
            TOP + PANEL - 4.0,
            x - 3.0,
            TOP + PANEL - 4.0,
            escape(label)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the workload started</text>"#,
        LEFT + plot_width / 2.0,
        height - 8.0
    );
    out.push_str("</svg>\n");
    out
}

/// How values map to heights. Lag spans milliseconds to the length of a
/// partition, so it is drawn on a log scale.
#[derive(Clone, Copy)]
enum Scale {
    Linear,
    Log,
}

impl Scale {
    fn map(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log => (1.0 + v.max(0.0)).log10(),
        }
    }

    fn unmap(self, y: f64) -> f64 {
        match self {
            Scale::Linear => y,
            Scale::Log => 10f64.powf(y) - 1.0,
        }
    }
}

fn panel(out: &mut String, timeline: &Timeline, series: &[Series], top: f64, label: &str, scale: Scale) {
    let plot_width = WIDTH - LEFT - RIGHT;
    let max = scale.map(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(1.0f64, f64::max)
            * 1.1,
    );
    let bottom = top + PANEL;
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{top}" width="{plot_width}" height="{PANEL}" fill="none" stroke="#999"/>"##
    );
    let _ = writeln!(out, r#"<text x="{LEFT}" y="{:.1}">{}</text>"#, top - 6.0, escape(label));
    for tick in 0..=4 {
        let value = scale.unmap(max * tick as f64 / 4.0);
        let y = bottom - PANEL * tick as f64 / 4.0;
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{value:.0}</text>"##,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let step = (timeline.seconds / 10.0).ceil().max(1.0);
    let mut t = 0.0;
    while t <= timeline.seconds {
        let x = LEFT + t / timeline.seconds.max(1.0) * plot_width;
        let _ = writeln!(
            out,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{t:.0}</text>"##,
            bottom + 14.0
        );
        t += step;
    }
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .map(|(t, v)| {
                let x = LEFT + t / timeline.seconds.max(1.0) * plot_width;
                format!("{x:.1},{:.1}", bottom - scale.map(*v) / max * PANEL)
            })
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
            points.join(" ")
        );
        let y = top + 14.0 + i as f64 * 16.0;
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="3" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            WIDTH - RIGHT + 10.0,
            y - 4.0,
            WIDTH - RIGHT + 26.0,
            y,
            escape(&s.name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_series_and_events() {
        let timeline = Timeline {
            title: "a <drill>",
            seconds: 10.0,
            writes: vec![Series {
                name: "us-east-1".into(),
                points: vec![(0.0, 1.0), (5.0, 10.0)],
            }],
            lags: vec![],
            events: vec![(3.0, "kill eu-west-1".into())],
        };
        let svg = render(&timeline);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt;drill&gt;") && svg.contains("kill eu-west-1") && svg.contains("polyline"));
    }
}
