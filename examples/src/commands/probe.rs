//! `connect --probe`: how the QAD tenant behaves where QAD documents nothing, and
//! `--write-config` to keep what was found in `[qad.behaviour]`.

use std::path::Path;

use qad_client::{Behaviour, ProbeReport, Verdict};
use sync_core::vault::Credentials;

use crate::cli::ConnectArgs;
use crate::connection::{qad_client, Setup};
use crate::error::{chain, AppError, AppResult};
use crate::output::print_json;

/// Runs the probe, prints it, and writes the configuration when asked.
///
/// # Errors
///
/// [`AppError::Check`] when the probe cannot run (login, browse) or an assumption is
/// contradicted and `--write-config` was not given; I/O errors writing the configuration.
pub async fn run(setup: &Setup, creds: &Credentials, args: &ConnectArgs) -> AppResult<()> {
    let client = qad_client(setup, creds)?;
    let report = client.probe(args.probe_writes).await.map_err(|err| {
        AppError::Check(format!(
            "cannot probe QAD at {}: {}",
            client.tenant_url(),
            chain(&err)
        ))
    })?;
    if args.json {
        print_json(&report)?;
    } else {
        print_text(&report);
    }
    let contradicted: Vec<&str> = report
        .assumptions
        .iter()
        .filter(|a| a.verdict == Verdict::Contradicted)
        .map(|a| a.name)
        .collect();
    if args.write_config {
        let detected = report.detected(*client.behaviour());
        write_behaviour(&setup.config_path, &detected)?;
        eprintln!(
            "wrote the values found into [qad.behaviour] of {}",
            setup.config_path.display()
        );
        return Ok(());
    }
    match contradicted.as_slice() {
        [] => Ok(()),
        names => Err(AppError::Check(format!(
            "the tenant contradicts [qad.behaviour] {}; run `connect --probe --write-config` \
             to keep the values found",
            names.join(", ")
        ))),
    }
}

fn print_text(report: &ProbeReport) {
    println!("QAD behaviour");
    for a in &report.assumptions {
        let verdict = match a.verdict {
            Verdict::Verified => "verified",
            Verdict::Contradicted => "contradicted",
            _ => "unknown",
        };
        let detail = match (&a.value, &a.why) {
            (_, Some(why)) => format!(" ({why})"),
            (Some(value), None) => format!(": {value}"),
            (None, None) => String::new(),
        };
        println!("  {:<22} {verdict}{detail}", a.name);
    }
}

/// The `[qad.behaviour]` table with every setting of `behaviour`.
fn behaviour_table(behaviour: &Behaviour) -> String {
    let mut out = String::from(
        "[qad.behaviour]\n# Written by `ml-connector connect --probe --write-config`.\n",
    );
    for name in Behaviour::NAMES {
        let value = behaviour.get(name).unwrap_or_default();
        let value = match value.parse::<u32>() {
            Ok(n) => n.to_string(),
            Err(_) => format!("\"{value}\""),
        };
        out.push_str(&format!("{name} = {value}\n"));
    }
    out
}

/// Replaces the `[qad.behaviour]` table of the file at `path` (or appends one), leaving the
/// rest of the file as it was; writes a temporary file and renames it over the original.
fn write_behaviour(path: &Path, behaviour: &Behaviour) -> AppResult<()> {
    let io = |source| AppError::Io {
        context: format!("cannot write {}", path.display()),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let updated = replace_table(&text, &behaviour_table(behaviour));
    let temporary = path.with_extension("toml.probe-tmp");
    std::fs::write(&temporary, updated).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// `text` without its `[qad.behaviour]` table (header to the next table header), with
/// `table` appended.
fn replace_table(text: &str, table: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let header = line.trim_start().starts_with('[');
        if header {
            inside = line.trim() == "[qad.behaviour]";
        }
        if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(table);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_replaced_and_the_rest_kept() {
        let mut behaviour = Behaviour::default();
        behaviour.set("paging.page_size_cap", "200").unwrap();
        behaviour.set("scope.domain", "header").unwrap();
        let before = "[qad]\ndomain = \"10USA\"\n\n[qad.behaviour]\npaging.mode = \"cursor\"\n\n[sync]\nlist_id = \"x\"\n";
        let after = replace_table(before, &behaviour_table(&behaviour));
        assert!(!after.contains("\"cursor\""), "{after}");
        assert!(after.contains("[sync]\nlist_id = \"x\""), "{after}");
        assert!(after.contains("paging.page_size_cap = 200\n"), "{after}");
        let parsed: toml::Table = toml::from_str(&after).unwrap();
        assert_eq!(
            parsed["qad"]["behaviour"]["scope"]["domain"].as_str(),
            Some("header")
        );
        assert_eq!(parsed["qad"]["domain"].as_str(), Some("10USA"));
    }
}
