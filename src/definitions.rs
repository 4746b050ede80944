//! The checked definitions an instance runs on: workflows, benefit policies, calendars, the
//! sanctions table and the screening rules. Each file either loads into a validated model or
//! yields located errors ([`CheckError`]: file, line, what is wrong, a hint); all of them are
//! loaded once at start and never change. Workflow files are also published to the database
//! as (name, version, source): every case runs on the version it started under, which is read
//! back from the database if this instance has not seen it.
use crate::config::Config;
use crate::domain::calendar::WorkCalendar;
use crate::domain::controls::Controls;
use crate::domain::policy::{load_policy, Policy};
use crate::domain::roles::Role;
use crate::domain::screening::ScreeningRules;
use crate::domain::supervision::Sanctions;
use crate::domain::workflow::{load_workflow_with, CheckError, Safety, Workflow};
use crate::store::{self, DbConn};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub struct LoadedFile {
    pub path: PathBuf,
    pub source: String,
    pub workflow: Workflow,
}

pub struct LoadedPolicy {
    pub path: PathBuf,
    pub policy: Policy,
}

/// The `*.toml` files in `dir`, sorted.
fn toml_files(dir: &Path, what: &str) -> Result<Vec<PathBuf>, Vec<CheckError>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![CheckError {
            file: dir.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read the {what} directory: {e}"),
            hint: format!(
                "set {what}_dir (CLAIMFLOW_{}_DIR) to the folder with the files",
                what.to_uppercase()
            ),
        }]
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Reads and checks files with `load`; all errors of all files come back together.
fn load_all<T>(
    paths: &[PathBuf],
    load: impl Fn(&str, &str) -> Result<T, Vec<CheckError>>,
) -> Result<Vec<(PathBuf, String, T)>, Vec<CheckError>> {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match read_file(path) {
            Ok(source) => match load(&name, &source) {
                Ok(value) => loaded.push((path.clone(), source, value)),
                Err(mut e) => errors.append(&mut e),
            },
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

fn duplicate_names<'a>(
    items: impl Iterator<Item = (&'a Path, &'a str)>,
    what: &str,
) -> Vec<CheckError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut errors = Vec::new();
    for (path, name) in items {
        if seen.contains(&name) {
            errors.push(CheckError {
                file: path.display().to_string(),
                line: 1,
                column: 1,
                message: format!("{what} `{name}` is defined by more than one file"),
                hint: "keep one file per name".into(),
            });
        }
        seen.push(name);
    }
    errors
}

/// Reads and checks every workflow file in `dir`.
pub fn load_dir(dir: &Path, safety: &Safety) -> Result<Vec<LoadedFile>, Vec<CheckError>> {
    load_files(&toml_files(dir, "workflows")?, safety)
}

pub fn load_files(paths: &[PathBuf], safety: &Safety) -> Result<Vec<LoadedFile>, Vec<CheckError>> {
    let loaded: Vec<LoadedFile> = load_all(paths, |f, s| load_workflow_with(f, s, safety))?
        .into_iter()
        .map(|(path, source, workflow)| LoadedFile {
            path,
            source,
            workflow,
        })
        .collect();
    let errors = duplicate_names(
        loaded
            .iter()
            .map(|f| (f.path.as_path(), f.workflow.name.as_str())),
        "workflow",
    );
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

/// Reads and checks every policy file in `dir`.
pub fn load_policy_dir(dir: &Path) -> Result<Vec<LoadedPolicy>, Vec<CheckError>> {
    load_policy_files(&toml_files(dir, "policies")?)
}

pub fn load_policy_files(paths: &[PathBuf]) -> Result<Vec<LoadedPolicy>, Vec<CheckError>> {
    let loaded: Vec<LoadedPolicy> = load_all(paths, load_policy)?
        .into_iter()
        .map(|(path, _, policy)| LoadedPolicy { path, policy })
        .collect();
    let errors = duplicate_names(
        loaded
            .iter()
            .map(|f| (f.path.as_path(), f.policy.name.as_str())),
        "policy",
    );
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

/// Whether a TOML file is a benefit policy (it has an `[inpatient]` table) or a workflow.
pub fn is_policy_file(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.parse::<toml::Table>().ok())
        .is_some_and(|t| t.contains_key("inpatient"))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The workflow safety rules under the configured authority limits.
pub fn safety(config: &Config) -> Safety {
    Safety::with_limits(config.authority_limits_fen.keys().map(String::as_str))
}

/// Everything `Definitions::publish` needs, read and checked from the configured files.
pub struct Sources {
    pub workflows: Vec<LoadedFile>,
    pub policies: Vec<LoadedPolicy>,
    pub calendars: Calendars,
    pub sanctions: Sanctions,
    pub screening: ScreeningRules,
    pub controls: Controls,
}

impl Sources {
    /// Reads every definition file the configuration names; all errors of all files come
    /// back together.
    pub fn read(config: &Config) -> Result<Sources, Vec<CheckError>> {
        let workflows = load_dir(&config.workflows_dir, &safety(config));
        let policies = load_policy_dir(&config.policies_dir);
        let calendars = load_calendars(&config.calendar_file, &config.region_calendars_dir);
        let sanctions = load_sanctions(&config.sanctions_file);
        let screening = load_screening(&config.screening_file);
        let controls = load_controls(&config.controls_file);
        match (
            workflows, policies, calendars, sanctions, screening, controls,
        ) {
            (
                Ok(workflows),
                Ok(policies),
                Ok(calendars),
                Ok(sanctions),
                Ok(screening),
                Ok(controls),
            ) => Ok(Sources {
                workflows,
                policies,
                calendars,
                sanctions,
                screening,
                controls,
            }),
            (w, p, c, s, r, k) => Err([w.err(), p.err(), c.err(), s.err(), r.err(), k.err()]
                .into_iter()
                .flatten()
                .flatten()
                .collect()),
        }
    }
}

/// Workflow versions by (name, version). The published files are known from the start;
/// versions published by another instance or an earlier deployment are read from the
/// database on first use and kept.
#[derive(Default)]
struct WorkflowVersions {
    known: RwLock<HashMap<(String, u32), Arc<Workflow>>>,
    /// The newest version of each name that this instance publishes, for new cases.
    latest: HashMap<String, Arc<Workflow>>,
}

/// The checked, immutable definitions every use case reads.
pub struct Definitions {
    workflows: WorkflowVersions,
    policies: Vec<Policy>,
    authority_limits: Vec<(Role, i64)>,
    calendars: Calendars,
    sanctions: Sanctions,
    screening: ScreeningRules,
    controls: Controls,
}

impl Definitions {
    /// Publishes the workflow files: a new (name, version) is stored; a known one must have
    /// the same text, or start-up is refused (a changed file needs a new version number).
    pub fn publish(
        conn: &mut DbConn,
        sources: Sources,
        authority_limits: &std::collections::BTreeMap<String, i64>,
    ) -> anyhow::Result<Definitions> {
        let mut workflows = WorkflowVersions::default();
        for f in sources.workflows {
            let wf = &f.workflow;
            let sha = sha256_hex(&f.source);
            match store::workflows::get(conn, &wf.name, wf.version as i32)? {
                Some(existing) if existing.sha256 != sha => anyhow::bail!(
                    "{}: workflow `{}` version {} is already published with different content; bump `version` to publish a change",
                    f.path.display(), wf.name, wf.version
                ),
                Some(_) => {}
                None => {
                    let row = store::workflows::WorkflowVersion {
                        name: wf.name.clone(),
                        version: wf.version as i32,
                        sha256: sha,
                        source: f.source.clone(),
                        published_at: store::now_ms(),
                    };
                    // Another instance may publish the same version at the same moment.
                    if let Err(e) = store::workflows::insert(conn, &row) {
                        if store::workflows::get(conn, &wf.name, wf.version as i32)?.is_none() {
                            return Err(e.into());
                        }
                    }
                }
            }
            workflows.add(f.workflow);
        }
        Ok(Definitions {
            workflows,
            policies: sources.policies.into_iter().map(|p| p.policy).collect(),
            authority_limits: authority_limits
                .iter()
                .filter_map(|(role, fen)| Some((role.parse().ok()?, *fen)))
                .collect(),
            calendars: sources.calendars,
            sanctions: sources.sanctions,
            screening: sources.screening,
            controls: sources.controls,
        })
    }

    /// The policy for a patient's region on a service date (see [`policy::policy_on`]).
    pub fn policy_for(&self, region_path: &str, date: chrono::NaiveDate) -> Option<&Policy> {
        crate::domain::policy::policy_on(&self.policies, region_path, date)
    }

    /// The policy a stay is priced under (see [`policy::policy_for_stay`]).
    pub fn policy_for_stay(
        &self,
        region_path: &str,
        admission: chrono::NaiveDate,
        discharge: chrono::NaiveDate,
    ) -> Option<&Policy> {
        crate::domain::policy::policy_for_stay(&self.policies, region_path, admission, discharge)
    }

    /// Order 735's article table.
    pub fn sanctions(&self) -> &Sanctions {
        &self.sanctions
    }

    /// The controls' vocabulary: the reasons for overriding an error finding.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// The screening rules every intake runs.
    pub fn screening(&self) -> &ScreeningRules {
        &self.screening
    }

    /// The working-time calendar for a case in this region: the most specific region on the
    /// path with a holiday file, else the national calendar.
    pub fn calendar_for(&self, region_path: &str) -> &WorkCalendar {
        region_path
            .rsplit('/')
            .find_map(|code| self.calendars.regions.get(code))
            .unwrap_or(&self.calendars.national)
    }

    /// The national working-time calendar.
    /// This year and the next where the national calendar has no holidays (see
    /// [`Calendars::missing_years`]).
    pub fn calendar_missing_years(&self, now_ms: i64) -> Vec<i32> {
        self.calendars.missing_years(now_ms)
    }

    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendars.national
    }

    /// The largest amount this role may decide alone; `None` when unlimited.
    pub fn authority_limit(&self, role: Role) -> Option<i64> {
        self.authority_limits
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, fen)| *fen)
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The schedules without a policy in force on `date` (see
    /// [`crate::domain::policy::schedules_without_policy`]).
    pub fn schedules_without_policy_on(&self, date: chrono::NaiveDate) -> Vec<(&str, &str)> {
        crate::domain::policy::schedules_without_policy(&self.policies, date)
    }

    /// The newest version this instance publishes, for new cases.
    pub fn latest(&self, name: &str) -> Option<Arc<Workflow>> {
        self.workflows.latest.get(name).cloned()
    }

    pub fn latest_all(&self) -> Vec<Arc<Workflow>> {
        let mut all: Vec<_> = self.workflows.latest.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// A specific version, from memory or from the database (published by another instance
    /// or by an earlier deployment).
    pub fn get(
        &self,
        conn: &mut DbConn,
        name: &str,
        version: i32,
    ) -> anyhow::Result<Arc<Workflow>> {
        let key = (name.to_string(), version as u32);
        if let Some(wf) = self
            .workflows
            .known
            .read()
            .expect("workflow cache")
            .get(&key)
        {
            return Ok(wf.clone());
        }
        let row = store::workflows::get(conn, name, version)?
            .ok_or_else(|| anyhow::anyhow!("workflow {name} v{version} is not published"))?;
        let label = format!("{name} v{version} (stored)");
        let wf =
            load_workflow_with(&label, &row.source, &Safety::published()).map_err(|errors| {
                anyhow::anyhow!(
                    "stored workflow {name} v{version} no longer loads: {}",
                    errors[0]
                )
            })?;
        // Stored versions are kept in memory but do not change which version is latest here.
        let wf = Arc::new(wf);
        self.workflows
            .known
            .write()
            .expect("workflow cache")
            .insert(key, wf.clone());
        Ok(wf)
    }
}

impl WorkflowVersions {
    fn add(&mut self, wf: Workflow) {
        let wf = Arc::new(wf);
        self.known
            .get_mut()
            .expect("workflow cache")
            .insert((wf.name.clone(), wf.version), wf.clone());
        match self.latest.get(&wf.name) {
            Some(newer) if newer.version >= wf.version => {}
            _ => {
                self.latest.insert(wf.name.clone(), wf);
            }
        }
    }
}

/// The national calendar and the regions' holiday files laid over it.
pub struct Calendars {
    pub national: WorkCalendar,
    pub regions: HashMap<String, WorkCalendar>,
}

impl Calendars {
    /// This year and the next, where the national calendar lists no holidays.
    pub fn missing_years(&self, now_ms: i64) -> Vec<i32> {
        let year = self.national.year_of(now_ms);
        self.national.years_without_data([year, year + 1])
    }
}

/// A file's text, or the located error that it cannot be read.
fn read_file(path: &Path) -> Result<String, CheckError> {
    std::fs::read_to_string(path).map_err(|e| CheckError {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
        hint: String::new(),
    })
}

/// Reads one file and checks it with `parse`.
fn load_one<T>(
    path: &Path,
    parse: impl FnOnce(&str, &str) -> Result<T, Vec<CheckError>>,
) -> Result<T, Vec<CheckError>> {
    let source = read_file(path).map_err(|e| vec![e])?;
    parse(&path.display().to_string(), &source)
}

/// Loads the national calendar file and every `<region code>.toml` in `regions_dir` (which
/// may be absent). Every problem is reported with its file.
pub fn load_calendars(
    national_file: &Path,
    regions_dir: &Path,
) -> Result<Calendars, Vec<CheckError>> {
    let national = load_one(national_file, WorkCalendar::from_file)?;
    let mut regions = HashMap::new();
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(regions_dir) else {
        return Ok(Calendars { national, regions });
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let code = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(CheckError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: "the file name must be a region code".into(),
                hint: "name regional holiday files by region code, like 330326.toml".into(),
            });
            continue;
        }
        match load_one(&path, |name, src| national.with_region_file(name, src)) {
            Ok(cal) => {
                regions.insert(code.to_string(), cal);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(Calendars { national, regions })
    } else {
        Err(errors)
    }
}

/// Loads and validates the sanctions table (`sanctions_file`).
pub fn load_sanctions(path: &Path) -> Result<Sanctions, Vec<CheckError>> {
    load_one(path, Sanctions::parse)
}

/// Loads and validates the controls' vocabulary (`controls_file`).
pub fn load_controls(path: &Path) -> Result<Controls, Vec<CheckError>> {
    load_one(path, Controls::parse)
}

/// Loads and validates the screening rules (`screening_file`).
pub fn load_screening(path: &Path) -> Result<ScreeningRules, Vec<CheckError>> {
    load_one(path, ScreeningRules::parse)
}
