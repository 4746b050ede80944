//! Each user's inbox: what was assigned, escalated, returned or decided, and documents
//! arrived on the cases they hold, newest first, with mark-as-read. The scheduled jobs and
//! the workflow actions write it beside the mail outbox (`service::notify`).
use super::ctx::{see_other, Ctx, PageError};
use crate::error::AppError;
use crate::store::inbox;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

const SHOWN: i64 = 200;

/// Anyone signed in (every role): the inbox is the user's own.
fn signed_in(ctx: &Ctx) -> Result<crate::auth::Principal, PageError> {
    ctx.require(&crate::domain::roles::Role::ALL)
}

#[get("/inbox")]
pub async fn inbox_page(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let user = signed_in(&ctx)?;
    let user_id = user.user_id;
    let items = ctx
        .db(move |conn, _| Ok(inbox::of_user(conn, user_id, SHOWN)?))
        .await?;
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "what": ctx.t_or(&format!("inbox.kind_{}", i.kind), &i.kind),
                "case": i.case_id,
                "when": ctx.when(i.created_at),
                "unread": i.read_at.is_none(),
            })
        })
        .collect();
    let view = json!({"items": items, "any_unread": ctx.unread > 0});
    ctx.page("inbox", "inbox.title", view)
}

/// Opens an item: marks it read and goes where it leads. Another user's item is not found.
#[get("/inbox/{id}")]
pub async fn open_item(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let user = signed_in(&ctx)?;
    let (user_id, id) = (user.user_id, id.into_inner());
    let href = ctx
        .db(move |conn, _| {
            inbox::open(conn, user_id, id, crate::store::now_ms())?
                .ok_or_else(|| AppError::NotFound(format!("inbox item {id}")))
        })
        .await?;
    Ok(see_other(&href))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

#[post("/inbox/read")]
pub async fn read_all(ctx: Ctx, form: web::Form<CsrfOnly>) -> Result<HttpResponse, PageError> {
    let user = signed_in(&ctx)?;
    ctx.check_csrf(&form.csrf)?;
    let user_id = user.user_id;
    ctx.db(move |conn, _| Ok(inbox::read_all(conn, user_id, crate::store::now_ms())?))
        .await?;
    Ok(see_other("/inbox"))
}
