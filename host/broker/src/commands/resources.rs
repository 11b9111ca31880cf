//! `sluice resources diff|apply|status`: the declared resources through the admin API, as
//! `kubectl diff` and `kubectl apply` are for manifests.
//!
//! `diff` and `apply` read FILE here and send its text; without FILE the broker reads its
//! own watched file again. Exit codes are those of every admin command, and 1 also when a
//! change failed (the report is printed first).
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::{ClientArgs, EXIT_REFUSED, Output, print_json, table};
use crate::client::{AdminClient, ClientError};

/// `sluice resources` options.
#[derive(Debug, clap::Args)]
pub struct ResourcesArgs {
    /// Where the broker is and how to print.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: ResourcesCommand,
}

/// `sluice resources` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ResourcesCommand {
    /// What applying FILE would change, checked by the broker; nothing is applied.
    Diff {
        /// A resources file (TOML); default: the broker's own, read again.
        file: Option<PathBuf>,
    },
    /// Make the broker match FILE: create, alter, and delete what an earlier apply created
    /// and FILE no longer lists. FILE replaces the broker's declared set.
    Apply {
        /// A resources file (TOML); default: the broker's own, read again.
        file: Option<PathBuf>,
        /// Only report what would change.
        #[arg(long)]
        dry_run: bool,
    },
    /// The watched file, the last apply and what the file manages.
    Status,
}

/// What to ask the broker.
enum Request {
    Status,
    Apply(Value),
}

/// Runs `sluice resources ...`.
pub fn run(args: ResourcesArgs) -> std::process::ExitCode {
    let output = args.client.output;
    let request = match request(args.command) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("sluice: {message}");
            return std::process::ExitCode::from(EXIT_REFUSED);
        }
    };
    let failed = Arc::new(AtomicBool::new(false));
    let failed_in = failed.clone();
    let code = super::run(&args.client, move |client| async move {
        execute(&client, request, output, &failed_in).await
    });
    if code == std::process::ExitCode::SUCCESS && failed.load(Ordering::Relaxed) {
        return std::process::ExitCode::from(EXIT_REFUSED);
    }
    code
}

/// The request for `command`, with FILE's text read here.
fn request(command: ResourcesCommand) -> Result<Request, String> {
    let (file, dry_run) = match command {
        ResourcesCommand::Status => return Ok(Request::Status),
        ResourcesCommand::Diff { file } => (file, true),
        ResourcesCommand::Apply { file, dry_run } => (file, dry_run),
    };
    Ok(Request::Apply(match file {
        Some(path) => {
            let content = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            json!({ "content": content, "dry_run": dry_run })
        }
        None => json!({ "dry_run": dry_run }),
    }))
}

async fn execute(
    client: &AdminClient,
    request: Request,
    output: Output,
    failed: &AtomicBool,
) -> Result<(), ClientError> {
    let body = match request {
        Request::Status => {
            let status = client.get("/api/resources").await?;
            match output {
                Output::Json => print_json(&status),
                Output::Human => print_status(&status),
            }
            return Ok(());
        }
        Request::Apply(body) => body,
    };
    let report = client.post("/api/resources/apply", &body).await?;
    match output {
        Output::Json => print_json(&report),
        Output::Human => print_report(&report),
    }
    let errors = report.get("errors").and_then(Value::as_array);
    if errors.is_some_and(|e| !e.is_empty()) {
        failed.store(true, Ordering::Relaxed);
    }
    Ok(())
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn count(value: &Value, key: &str) -> u64 {
    value
        .pointer(&format!("/summary/{key}"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn print_report(report: &Value) {
    let changes = report
        .get("changes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !changes.is_empty() {
        let rows: Vec<Vec<String>> = changes
            .iter()
            .map(|c| {
                let mut detail = text(c, "detail").to_owned();
                if let Some(error) = c.get("error").and_then(Value::as_str) {
                    detail = format!("{detail} [failed: {error}]");
                }
                vec![
                    text(c, "action").to_owned(),
                    text(c, "kind").to_owned(),
                    text(c, "name").to_owned(),
                    detail.trim().to_owned(),
                ]
            })
            .collect();
        table::print(&["ACTION", "KIND", "NAME", "DETAIL"], &rows);
    }
    let dry_run = report.get("dry_run").and_then(Value::as_bool) == Some(true);
    let (create, alter, delete) = if dry_run {
        ("to create", "to alter", "to delete")
    } else {
        ("created", "altered", "deleted")
    };
    let mut summary = format!(
        "{} {create}, {} {alter}, {} {delete}, {} unchanged",
        count(report, "create"),
        count(report, "alter"),
        count(report, "delete"),
        count(report, "unchanged"),
    );
    for (key, label) in [("refused", "refused"), ("warning", "warnings")] {
        let n = count(report, key);
        if n > 0 {
            summary.push_str(&format!(", {n} {label}"));
        }
    }
    if report.get("changed").and_then(Value::as_bool) == Some(false) {
        summary.push_str(" (nothing to change)");
    }
    if dry_run {
        summary.push_str(" [dry run]");
    }
    println!("{summary}");
    for error in report
        .get("errors")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        eprintln!("error: {}", error.as_str().unwrap_or_default());
    }
}

fn print_status(status: &Value) {
    let file = status.get("file").and_then(Value::as_str).unwrap_or("none");
    println!("file: {file}");
    if let Some(poll) = status.get("poll_ms").and_then(Value::as_u64) {
        println!("poll: every {poll} ms");
    }
    match status.get("last_apply").filter(|v| !v.is_null()) {
        Some(last) => {
            println!(
                "last apply: {} from {} at {} ms",
                text(last, "origin"),
                text(last, "source"),
                last.get("at_ms").and_then(Value::as_i64).unwrap_or(0)
            );
            print_report(last);
        }
        None => println!("last apply: none"),
    }
    if let Some(managed) = status.get("managed").and_then(Value::as_object) {
        for (kind, names) in managed {
            let names: Vec<&str> = names
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if !names.is_empty() {
                println!("managed {kind}: {}", names.join(", "));
            }
        }
    }
}
