//! Progress of a long job (a restore, a backup, an index backfill, a drill,
//! a bench phase): a bar with its rate and estimated time left on a
//! terminal (`indicatif`), and a plain line every few seconds when stdout
//! is not a terminal (CI logs, files), so that a log shows the job moving
//! without a line per step.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain form prints a line.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// One job's progress, counted in `unit`s.
pub struct Progress {
    label: String,
    unit: &'static str,
    /// What the job has done besides its position (`acked 120 ...`).
    detail: String,
    started: Instant,
    shown: Shown,
}

/// Where the progress shows.
enum Shown {
    /// A bar redrawn in place on the terminal.
    Bar(ProgressBar),
    /// Periodic lines: the position and total last set, and when the last
    /// line was printed.
    Lines {
        position: u64,
        total: Option<u64>,
        last_line: Instant,
    },
}

impl Progress {
    /// Starts showing `label`'s progress towards `total` units (unknown:
    /// no bar length and no estimate).
    pub fn new(label: impl Into<String>, total: Option<u64>, unit: &'static str) -> Progress {
        let label = label.into();
        let shown = if std::io::stdout().is_terminal() {
            Shown::Bar(bar(&label, total, unit))
        } else {
            Shown::Lines {
                position: 0,
                total,
                last_line: Instant::now(),
            }
        };
        Progress {
            label,
            unit,
            detail: String::new(),
            started: Instant::now(),
            shown,
        }
    }

    /// Progress through a job of fixed length (a timed phase), in whole
    /// seconds: no rate, since seconds pass at one a second.
    pub fn timed(label: impl Into<String>, length: Duration) -> Progress {
        let mut progress = Progress::new(label, Some(length.as_secs_f64().ceil() as u64), "s");
        if let Shown::Bar(bar) = &progress.shown
            && let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} s")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        progress.unit = TIMED;
        progress
    }

    /// Sets what the job has done besides its position, shown after the
    /// label.
    pub fn set_detail(&mut self, detail: String) {
        if let Shown::Bar(bar) = &self.shown {
            bar.set_message(format!("{} {detail}", self.label));
        }
        self.detail = detail;
    }

    /// Sets the total (it may become known, or be revised, on the way).
    pub fn set_total(&mut self, total: u64) {
        match &mut self.shown {
            Shown::Bar(bar) => bar.set_length(total),
            Shown::Lines { total: known, .. } => *known = Some(total),
        }
    }

    /// Sets how far the job is.
    pub fn set(&mut self, position: u64) {
        match &mut self.shown {
            Shown::Bar(bar) => {
                let seconds = self.started.elapsed().as_secs_f64();
                if seconds > 0.0 {
                    bar.set_prefix(format!("{:.0}", position as f64 / seconds));
                }
                bar.set_position(position);
            }
            Shown::Lines {
                position: at,
                total,
                last_line,
            } => {
                *at = position;
                if last_line.elapsed() >= LINE_EVERY {
                    *last_line = Instant::now();
                    let line = plain_line(&self.label, position, *total, self.unit, self.started.elapsed());
                    super::common::say(format_args!("{line}{}{}", sep(&self.detail), self.detail));
                }
            }
        }
    }

    /// Ends the bar (or the lines) with `message`.
    pub fn finish(self, message: impl std::fmt::Display) {
        self.clear();
        super::common::say(format_args!("{message}"));
    }

    /// Ends the bar (or the lines), leaving nothing on the screen.
    pub fn clear(self) {
        if let Shown::Bar(bar) = self.shown {
            bar.finish_and_clear();
        }
    }
}

/// The unit of a timed job, which gets no rate.
const TIMED: &str = "s";

/// A comma between a line and a detail, when there is one.
fn sep(detail: &str) -> &'static str {
    if detail.is_empty() { "" } else { ", " }
}

/// A bar for `label` on stdout: `[=====>   ] 1200/5000 items, 400/s, 9s left`.
fn bar(label: &str, total: Option<u64>, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stdout());
    // The rate of counts is the prefix (`set` writes it): indicatif's own
    // shows four decimals.
    let template = match (total, unit) {
        (Some(_), "bytes") => "{msg} [{bar:30}] {bytes}/{total_bytes}, {bytes_per_sec}, {eta} left".to_string(),
        (Some(_), _) => format!("{{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit}, {{prefix}}/s, {{eta}} left"),
        (None, _) => format!("{{msg}} {{spinner}} {{human_pos}} {unit}, {{prefix}}/s"),
    };
    // The templates above are fixed and well-formed; a failure would only
    // lose the styling, not the progress.
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The plain form: `label: 1,200 of 5,000 items (400/s, about 9 s left)`.
fn plain_line(label: &str, position: u64, total: Option<u64>, unit: &str, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { position as f64 / seconds } else { 0.0 };
    match total {
        Some(total) if unit == TIMED => format!("{label}: {position} of {total} s"),
        Some(total) if rate > 0.0 => {
            let left = total.saturating_sub(position) as f64 / rate;
            format!("{label}: {position} of {total} {unit} ({rate:.0}/s, about {left:.0} s left)")
        }
        Some(total) => format!("{label}: {position} of {total} {unit}"),
        None => format!("{label}: {position} {unit} ({rate:.0}/s)"),
    }
}

#[cfg(test)]
mod tests {
    use super::plain_line;
    use std::time::Duration;

    #[test]
    fn plain_lines_give_the_rate_and_the_time_left() {
        let ten = Duration::from_secs(10);
        assert_eq!(
            plain_line("restore t", 4000, Some(10_000), "items", ten),
            "restore t: 4000 of 10000 items (400/s, about 15 s left)"
        );
        assert_eq!(
            plain_line("backfill", 0, Some(10), "items", ten),
            "backfill: 0 of 10 items"
        );
        assert_eq!(
            plain_line("bench put", 5000, None, "requests", ten),
            "bench put: 5000 requests (500/s)"
        );
        assert_eq!(
            plain_line("drill", 10, Some(60), super::TIMED, ten),
            "drill: 10 of 60 s"
        );
    }
}
