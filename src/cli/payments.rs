//! `claimflow payments export BATCH` and `claimflow payments import-result FILE`: the bank
//! files, for the operator at the command line (audited as `claimflow payments`).
use crate::core::Core;
use crate::service::payments::{self as svc, Actor};
use crate::store::now_ms;
use std::path::Path;
use std::process::ExitCode;

/// Writes the bank file of a batch; the first export locks it, a repeat writes the same file.
pub fn export(core: &Core, batch_id: i64, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut conn = core.pool.get()?;
    let export = svc::export_batch(&mut conn, core.env(), None, Actor::CLI, batch_id, now_ms())
        .map_err(|e| anyhow::anyhow!("{}", e.text("en")))?;
    match out {
        Some(path) => std::fs::write(path, &export.csv)
            .map_err(|e| anyhow::anyhow!("{}: cannot be written: {e}", path.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&export.csv)?;
        }
    }
    eprintln!(
        "batch {}: {} payment(s), {} yuan{}",
        batch_id,
        export.batch.item_count,
        crate::domain::money::Fen(export.batch.total_fen),
        if export.first {
            "; exported and locked"
        } else {
            "; exported before, this is the same file (nothing new is payable)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Applies the bank's result file, or lists every bad row and applies nothing.
pub fn import_result(core: &Core, file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("{}: cannot be read as UTF-8 text: {e}", file.display()))?;
    let mut conn = core.pool.get()?;
    match svc::import_results(&mut conn, core.env(), None, Actor::CLI, &text, now_ms())
        .map_err(|e| anyhow::anyhow!("{}", e.text("en")))?
    {
        Ok(s) => {
            println!(
                "{}: {} paid, {} failed, {} returned, {} already recorded",
                file.display(),
                s.paid,
                s.failed,
                s.returned,
                s.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{}:{}", file.display(), e);
            }
            eprintln!(
                "{}: {} error(s); nothing was applied",
                file.display(),
                errors.len()
            );
            Ok(ExitCode::from(1))
        }
    }
}
