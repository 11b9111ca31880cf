//! The progress bar `perf` draws on stderr while it runs: elapsed time against `--duration`,
//! or messages consumed against those expected, with the current rates and p99. Hidden when
//! stderr is not a terminal (a pipe, a CI log) or the report is JSON.
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, perhaps hidden.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `length` steps (`unit` names them), drawn only if `wanted` and stderr is a
    /// terminal.
    pub fn new(wanted: bool, length: u64, unit: &str) -> Progress {
        let target = if wanted && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(length), target);
        let template = format!("{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    /// Moves the bar to `position` with `message` beside it.
    pub fn update(&self, position: u64, message: String) {
        self.bar.set_position(position);
        self.bar.set_message(message);
    }

    /// Removes the bar, leaving the terminal to the report.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
