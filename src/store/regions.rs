//! Regions form a tree: province > prefecture > county. A region's `path` lists the codes
//! from the root, so "is inside" is a prefix test.
use super::schema::regions;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = regions)]
pub struct Region {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub parent_code: Option<String>,
    pub level: String,
    pub path: String,
}

pub const LEVELS: [&str; 3] = ["province", "prefecture", "county"];

/// Whether `inner` lies inside the subtree rooted at `outer` (both are paths).
pub fn path_within(inner: &str, outer: &str) -> bool {
    inner == outer || (inner.starts_with(outer) && inner.as_bytes().get(outer.len()) == Some(&b'/'))
}

pub fn get(conn: &mut DbConn, code: &str) -> QueryResult<Option<Region>> {
    db_run!(conn, c => regions::table.find(code).select(Region::as_select()).load(c).map(super::at_most_one))
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Region>> {
    db_run!(conn, c => regions::table.order(regions::path).select(Region::as_select()).load(c))
}

/// Adds a region under `parent` (or as a root). The level must be one below the parent's.
pub fn add(
    conn: &mut DbConn,
    code: &str,
    name_zh: &str,
    name_en: &str,
    parent: Option<&str>,
) -> anyhow::Result<Region> {
    let (level, path) = match parent {
        None => ("province", code.to_string()),
        Some(p) => {
            let parent = get(conn, p)?
                .ok_or_else(|| anyhow::anyhow!("parent region `{p}` does not exist"))?;
            let depth = LEVELS.iter().position(|l| *l == parent.level).unwrap_or(2);
            let level = LEVELS
                .get(depth + 1)
                .ok_or_else(|| anyhow::anyhow!("a county cannot have sub-regions"))?;
            (*level, format!("{}/{code}", parent.path))
        }
    };
    let region = Region {
        code: code.into(),
        name_zh: name_zh.into(),
        name_en: name_en.into(),
        parent_code: parent.map(str::to_string),
        level: level.into(),
        path,
    };
    db_run!(conn, c => diesel::insert_into(regions::table).values(&region).execute(c))?;
    Ok(region)
}

#[cfg(test)]
mod tests {
    #[test]
    fn subtree_is_a_path_prefix_on_segment_boundaries() {
        assert!(super::path_within("33/3303/330326", "33/3303"));
        assert!(super::path_within("33/3303", "33/3303"));
        assert!(!super::path_within("33/33030", "33/3303"));
        assert!(!super::path_within("33", "33/3303"));
    }
}
