//! Workflow definitions in use. Files from `workflows/` are checked and published to the
//! database as (name, version, source); every case runs on the version it started under,
//! which is read back from the database if this instance has not seen it.
use crate::domain::workflow::{load_workflow, CheckError, Workflow};
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

/// Reads and checks every `*.toml` in `dir`. All errors of all files are returned together.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedFile>, Vec<CheckError>> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            return Err(vec![CheckError {
            file: dir.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read the workflows directory: {e}"),
            hint:
                "set workflows_dir (CLAIMFLOW_WORKFLOWS_DIR) to the folder with the workflow files"
                    .into(),
        }])
        }
    };
    paths.sort();
    load_files(&paths)
}

pub fn load_files(paths: &[PathBuf]) -> Result<Vec<LoadedFile>, Vec<CheckError>> {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(source) => match load_workflow(&name, &source) {
                Ok(workflow) => loaded.push(LoadedFile {
                    path: path.clone(),
                    source,
                    workflow,
                }),
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
    for (i, a) in loaded.iter().enumerate() {
        if loaded[..i]
            .iter()
            .any(|b| b.workflow.name == a.workflow.name)
        {
            errors.push(CheckError {
                file: a.path.display().to_string(),
                line: 1,
                column: 1,
                message: format!(
                    "workflow `{}` is defined by more than one file",
                    a.workflow.name
                ),
                hint: "keep one file per workflow; bump `version` to publish a change".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[derive(Default)]
pub struct WorkflowRegistry {
    versions: RwLock<HashMap<(String, u32), Arc<Workflow>>>,
    latest: RwLock<HashMap<String, u32>>,
}

impl WorkflowRegistry {
    /// Publishes the loaded files: a new (name, version) is stored; a known one must have the
    /// same text, or start-up is refused (a changed file needs a new version number).
    pub fn publish(conn: &mut DbConn, files: Vec<LoadedFile>) -> anyhow::Result<WorkflowRegistry> {
        let registry = WorkflowRegistry::default();
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
