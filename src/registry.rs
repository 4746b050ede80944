//! Workflow definitions in use. Files from `workflows/` are checked and published to the
//! database as (name, version, source); every case runs on the version it started under,
//! which is read back from the database if this instance has not seen it.
use crate::domain::calendar::WorkCalendar;
use crate::domain::policy::{load_policy, Policy};
use crate::domain::roles::Role;
use crate::domain::screening::ScreeningRules;
use crate::domain::supervision::Sanctions;
use crate::domain::workflow::{load_workflow, CheckError, Workflow};
use crate::error::{AppError, AppResult};
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
        match std::fs::read_to_string(path) {
            Ok(source) => match load(&name, &source) {
                Ok(value) => loaded.push((path.clone(), source, value)),
                Err(mut e) => errors.append(&mut e),
            },
            Err(e) => errors.push(CheckError {
                file: name,
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
                hint: String::new(),
            }),
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
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedFile>, Vec<CheckError>> {
    load_files(&toml_files(dir, "workflows")?)
}

pub fn load_files(paths: &[PathBuf]) -> Result<Vec<LoadedFile>, Vec<CheckError>> {
    let loaded: Vec<LoadedFile> = load_all(paths, load_workflow)?
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

/// The checked rules an instance runs on: workflow versions and benefit policies.
#[derive(Default)]
pub struct Registry {
    versions: RwLock<HashMap<(String, u32), Arc<Workflow>>>,
    latest: RwLock<HashMap<String, u32>>,
    policies: Vec<Policy>,
    authority_limits: Vec<(Role, i64)>,
    calendar: Option<WorkCalendar>,
    /// Region code → the national calendar with that region's holiday file applied.
    region_calendars: HashMap<String, WorkCalendar>,
    notifier: Option<Arc<crate::mail::Notifier>>,
    sanctions: Option<Arc<Sanctions>>,
    screening: Option<Arc<ScreeningRules>>,
}

impl Registry {
    /// Publishes the loaded files: a new (name, version) is stored; a known one must have the
    /// same text, or start-up is refused (a changed file needs a new version number).
    pub fn publish(
        conn: &mut DbConn,
        files: Vec<LoadedFile>,
        policies: Vec<LoadedPolicy>,
    ) -> anyhow::Result<Registry> {
        let registry = Registry {
            policies: policies.into_iter().map(|p| p.policy).collect(),
            ..Registry::default()
        };
        for f in files {
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
            registry.insert(f.workflow);
        }
        Ok(registry)
    }

    /// The policy for a patient's region on a service date: valid on the date, its region on
    /// the patient's region path, the most specific region first.
    pub fn policy_for(&self, region_path: &str, date: chrono::NaiveDate) -> Option<&Policy> {
        self.policies
            .iter()
            .filter(|p| p.valid_from <= date && date <= p.valid_to)
            .filter(|p| region_path.split('/').any(|code| code == p.region))
            .max_by_key(|p| region_path.split('/').position(|code| code == p.region))
    }

    /// Sets the per-role decision limits (fen) from configuration.
    pub fn with_authority_limits(
        mut self,
        limits: &std::collections::BTreeMap<String, i64>,
    ) -> Registry {
        self.authority_limits = limits
            .iter()
            .filter_map(|(role, fen)| Some((role.parse().ok()?, *fen)))
            .collect();
        self
    }

    pub fn with_calendars(mut self, calendars: Calendars) -> Registry {
        self.calendar = Some(calendars.national);
        self.region_calendars = calendars.regions;
        self
    }

    pub fn with_sanctions(mut self, sanctions: Sanctions) -> Registry {
        self.sanctions = Some(Arc::new(sanctions));
        self
    }

    /// Order 735's article table.
    pub fn sanctions(&self) -> AppResult<&Sanctions> {
        self.sanctions.as_deref().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("the sanctions table was not loaded"))
        })
    }

    pub fn with_screening(mut self, rules: ScreeningRules) -> Registry {
        self.screening = Some(Arc::new(rules));
        self
    }

    /// The screening rules every intake runs.
    pub fn screening(&self) -> AppResult<&ScreeningRules> {
        self.screening.as_deref().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("the screening rules were not loaded"))
        })
    }

    pub fn with_notifier(mut self, notifier: crate::mail::Notifier) -> Registry {
        self.notifier = Some(Arc::new(notifier));
        self
    }

    /// The email templates; `None` only in a registry built without them (unit tests).
    pub fn notifier(&self) -> Option<&crate::mail::Notifier> {
        self.notifier.as_deref()
    }

    /// The working-time calendar for a case in this region: the most specific region on the
    /// path with a holiday file, else the national calendar.
    pub fn calendar_for(&self, region_path: &str) -> &WorkCalendar {
        region_path
            .rsplit('/')
            .find_map(|code| self.region_calendars.get(code))
            .unwrap_or_else(|| self.calendar())
    }

    /// The national working-time calendar.
    pub fn calendar(&self) -> &WorkCalendar {
        static ALWAYS_OPEN: std::sync::OnceLock<WorkCalendar> = std::sync::OnceLock::new();
        self.calendar.as_ref().unwrap_or_else(|| {
            ALWAYS_OPEN.get_or_init(|| WorkCalendar {
                offset: chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"),
                day_start: chrono::NaiveTime::MIN,
                day_end: chrono::NaiveTime::from_hms_milli_opt(23, 59, 59, 999)
                    .expect("valid time"),
                holidays: Default::default(),
                makeup_workdays: Default::default(),
            })
        })
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

    fn insert(&self, wf: Workflow) -> Arc<Workflow> {
        let name = wf.name.clone();
        let version = wf.version;
        let wf = Arc::new(wf);
        self.versions
            .write()
            .expect("registry lock")
            .insert((name.clone(), version), wf.clone());
        let mut latest = self.latest.write().expect("registry lock");
        let entry = latest.entry(name).or_insert(version);
        *entry = (*entry).max(version);
        wf
    }

    /// The newest version this instance publishes, for new cases.
    pub fn latest(&self, name: &str) -> Option<Arc<Workflow>> {
        let version = *self.latest.read().expect("registry lock").get(name)?;
        self.versions
            .read()
            .expect("registry lock")
            .get(&(name.to_string(), version))
            .cloned()
    }

    pub fn latest_all(&self) -> Vec<Arc<Workflow>> {
        let latest = self.latest.read().expect("registry lock");
        let versions = self.versions.read().expect("registry lock");
        let mut all: Vec<_> = latest
            .iter()
            .filter_map(|(n, v)| versions.get(&(n.clone(), *v)).cloned())
            .collect();
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
        if let Some(wf) = self
            .versions
            .read()
            .expect("registry lock")
            .get(&(name.to_string(), version as u32))
        {
            return Ok(wf.clone());
        }
        let row = store::workflows::get(conn, name, version)?
            .ok_or_else(|| anyhow::anyhow!("workflow {name} v{version} is not published"))?;
        let wf = load_workflow(&format!("{name} v{version} (stored)"), &row.source).map_err(
            |errors| {
                anyhow::anyhow!(
                    "stored workflow {name} v{version} no longer loads: {}",
                    errors[0]
                )
            },
        )?;
        // Stored versions are kept in memory but do not change which version is latest here.
        let wf = Arc::new(wf);
        self.versions
            .write()
            .expect("registry lock")
            .insert((name.to_string(), version as u32), wf.clone());
        Ok(wf)
    }
}

/// The national calendar and the regions' holiday files laid over it.
pub struct Calendars {
    pub national: WorkCalendar,
    pub regions: HashMap<String, WorkCalendar>,
}

/// Loads the national calendar file and every `<region code>.toml` in `regions_dir` (which
/// may be absent). Every problem is reported with its file.
pub fn load_calendars(national_file: &Path, regions_dir: &Path) -> Result<Calendars, Vec<String>> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
    };
    let national = read(national_file)
        .and_then(|src| WorkCalendar::from_file(&national_file.display().to_string(), &src))
        .map_err(|e| vec![e])?;
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
        let name = path.display().to_string();
        let code = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(format!(
                "{name}: the file name must be a region code, like 330326.toml"
            ));
            continue;
        }
        match read(&path).and_then(|src| national.with_region_file(&name, &src)) {
            Ok(cal) => {
                regions.insert(code.to_string(), cal);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(Calendars { national, regions })
    } else {
        Err(errors)
    }
}

/// Loads and validates the sanctions table (`sanctions_file`).
pub fn load_sanctions(path: &Path) -> Result<Sanctions, Vec<String>> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read: {e}", path.display())])?;
    Sanctions::parse(&path.display().to_string(), &source)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// Loads and validates the screening rules (`screening_file`).
pub fn load_screening(path: &Path) -> Result<ScreeningRules, Vec<String>> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read: {e}", path.display())])?;
    ScreeningRules::parse(&path.display().to_string(), &source)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}
