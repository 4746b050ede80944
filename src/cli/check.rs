//! `claimflow check` and `claimflow calc`: the definition files checked with located errors,
//! and one benefit breakdown computed, without a database.
use crate::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn check(paths: &[PathBuf], config: &Config) -> ExitCode {
    let mut errors: Vec<String> = Vec::new();
    if paths.is_empty() {
        // Everything the service loads besides workflows and policies.
        match crate::definitions::load_calendars(
            &config.calendar_file,
            &config.region_calendars_dir,
        ) {
            Ok(c) => println!(
                "ok  {} and {} regional holiday file(s)",
                config.calendar_file.display(),
                c.regions.len()
            ),
            Err(e) => errors.extend(e.iter().map(ToString::to_string)),
        }
        match crate::definitions::load_sanctions(&config.sanctions_file) {
            Ok(s) => println!(
                "ok  {} ({} articles, {} violation types)",
                config.sanctions_file.display(),
                s.articles.len(),
                s.violation_types.len()
            ),
            Err(e) => errors.extend(e.iter().map(ToString::to_string)),
        }
        match crate::definitions::load_screening(&config.screening_file) {
            Ok(s) => println!(
                "ok  {} ({} screening rules, {} enabled)",
                config.screening_file.display(),
                s.rules.len(),
                s.rules.iter().filter(|r| r.enabled).count()
            ),
            Err(e) => errors.extend(e.iter().map(ToString::to_string)),
        }
        match crate::definitions::load_controls(&config.controls_file) {
            Ok(c) => println!(
                "ok  {} ({} override reasons)",
                config.controls_file.display(),
                c.override_reasons.len()
            ),
            Err(e) => errors.extend(e.iter().map(ToString::to_string)),
        }
        match crate::mail::MailTemplates::load(&config.mail.templates_dir) {
            Ok(_) => println!(
                "ok  {} ({} email templates in zh-CN and en)",
                config.mail.templates_dir.display(),
                crate::mail::templates::TEMPLATES.len()
            ),
            Err(e) => errors.extend(e.iter().map(ToString::to_string)),
        }
    }
    let (workflows, policies) = if paths.is_empty() {
        (
            crate::definitions::load_dir(
                &config.workflows_dir,
                &crate::definitions::safety(config),
            ),
            crate::definitions::load_policy_dir(&config.policies_dir),
        )
    } else {
        let (p, w): (Vec<PathBuf>, Vec<PathBuf>) = paths
            .iter()
            .cloned()
            .partition(|p| crate::definitions::is_policy_file(p));
        (
            crate::definitions::load_files(&w, &crate::definitions::safety(config)),
            crate::definitions::load_policy_files(&p),
        )
    };
    match workflows {
        Ok(files) => {
            for f in &files {
                println!(
                    "ok  {} (workflow {} v{}, {} stages)",
                    f.path.display(),
                    f.workflow.name,
                    f.workflow.version,
                    f.workflow.stages.len()
                );
            }
        }
        Err(e) => errors.extend(e.iter().map(ToString::to_string)),
    }
    match policies {
        Ok(files) => {
            for f in &files {
                println!(
                    "ok  {} (policy {}, {} to {})",
                    f.path.display(),
                    f.policy.name,
                    f.policy.valid_from,
                    f.policy.valid_to
                );
            }
        }
        Err(e) => errors.extend(e.iter().map(ToString::to_string)),
    }
    if errors.is_empty() {
        return ExitCode::SUCCESS;
    }
    for e in &errors {
        eprintln!("{e}");
    }
    eprintln!("{} error(s)", errors.len());
    ExitCode::from(1)
}

pub fn calc(policy: &std::path::Path, request: &std::path::Path) -> anyhow::Result<ExitCode> {
    let policy =
        crate::definitions::load_policy_files(&[policy.to_path_buf()]).map_err(|errors| {
            let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("{}", list.join("\n"))
        })?;
    let text = std::fs::read_to_string(request)
        .map_err(|e| anyhow::anyhow!("{}: {e}", request.display()))?;
    let req: crate::domain::policy::CalcRequest = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", request.display(), e.line(), e.column()))?;
    let breakdown = crate::domain::policy::calculate(&policy[0].policy, &req)
        .map_err(|e| anyhow::anyhow!("{}: {e}", request.display()))?;
    println!("{}", serde_json::to_string_pretty(&breakdown)?);
    Ok(ExitCode::SUCCESS)
}
