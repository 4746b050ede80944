use crate::domain::workflow::{Target, Title};
use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::State;
use actix_web::{get, HttpResponse};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkflowSummary {
    pub name: String,
    pub version: u32,
    pub title: Title,
    pub required_documents: Vec<String>,
    pub stages: Vec<StageSummary>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StageSummary {
    pub id: String,
    pub title: Title,
    pub role: String,
    pub sla_hours: Option<u32>,
    pub actions: Vec<ActionSummary>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ActionSummary {
    pub name: String,
    pub title: Title,
    pub roles: Vec<String>,
    pub to: String,
    pub guard: Option<String>,
}

/// The latest published version of each workflow.
#[utoipa::path(get, path = "/api/workflows", tag = "workflows", security(("bearer" = [])),
    responses((status = 200, body = Vec<WorkflowSummary>), (status = 401, body = crate::http::errors::ErrorBody)))]
#[get("/api/workflows")]
pub async fn list_workflows(state: State, _user: AuthUser) -> AppResult<HttpResponse> {
    let list: Vec<WorkflowSummary> = state
        .defs
        .latest_all()
        .iter()
        .map(|wf| WorkflowSummary {
            name: wf.name.clone(),
            version: wf.version,
            title: wf.title.clone(),
            required_documents: wf.required_documents.clone(),
            stages: wf
                .stages
                .iter()
                .map(|s| StageSummary {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    role: s.role.to_string(),
                    sla_hours: s.sla_hours,
                    actions: s
                        .actions
                        .iter()
                        .map(|a| ActionSummary {
                            name: a.name.clone(),
                            title: a.title.clone(),
                            roles: a.roles.iter().map(|r| r.to_string()).collect(),
                            to: match a.to {
                                Target::Stage(i) => wf.stages[i].id.clone(),
                                Target::Outcome(o) => o.as_str().to_string(),
                                Target::Returner => "@return".to_string(),
                            },
                            guard: a.guard_text.clone(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}
