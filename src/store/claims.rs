use super::schema::{claim_documents, claims};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = claims)]
pub struct ClaimRow {
    pub id: i64,
    pub resident_user_id: i64,
    pub submitted_by: i64,
    pub family: String,
    pub encounter_kind: String,
    pub facility_code: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub diagnosis_code: String,
    pub invoice_numbers: String,
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
    pub family_facts: String,
    pub region_code: String,
    pub payable_fen: Option<i64>,
    pub decided_fen: Option<i64>,
    pub created_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = claims)]
pub struct NewClaim<'a> {
    pub resident_user_id: i64,
    pub submitted_by: i64,
    pub family: &'a str,
    pub encounter_kind: &'a str,
    pub facility_code: &'a str,
    pub admission_date: &'a str,
    pub discharge_date: &'a str,
    pub diagnosis_code: &'a str,
    pub invoice_numbers: &'a str,
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
    pub family_facts: &'a str,
    pub region_code: &'a str,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = claim_documents)]
pub struct DocumentRow {
    pub id: i64,
    pub claim_id: i64,
    pub kind: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub filename: String,
    pub status: String,
    pub reject_reason: Option<String>,
    pub uploaded_by: i64,
    pub uploaded_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = claim_documents)]
pub struct NewDocument<'a> {
    pub claim_id: i64,
    pub kind: &'a str,
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub filename: &'a str,
    pub status: &'a str,
    pub uploaded_by: i64,
    pub uploaded_at: i64,
}

pub fn insert(conn: &mut DbConn, claim: &NewClaim<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(claims::table).values(claim).returning(claims::id).get_result(c))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<ClaimRow>> {
    db_run!(conn, c => claims::table.find(id).select(ClaimRow::as_select()).first(c).optional())
}

pub fn insert_document(conn: &mut DbConn, doc: &NewDocument<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(claim_documents::table).values(doc).returning(claim_documents::id).get_result(c))
}

pub fn documents(conn: &mut DbConn, claim_id: i64) -> QueryResult<Vec<DocumentRow>> {
    db_run!(conn, c => claim_documents::table
        .filter(claim_documents::claim_id.eq(claim_id))
        .order(claim_documents::id)
        .select(DocumentRow::as_select())
        .load(c))
}

pub fn document(conn: &mut DbConn, claim_id: i64, doc_id: i64) -> QueryResult<Option<DocumentRow>> {
    db_run!(conn, c => claim_documents::table
        .filter(claim_documents::claim_id.eq(claim_id).and(claim_documents::id.eq(doc_id)))
        .select(DocumentRow::as_select())
        .first(c)
        .optional())
}
