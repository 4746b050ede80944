//! The resident's plain-language timeline, built from the public audit events. Comments are
//! internal and never appear here; what a return asks for, and a decision's amount and
//! coded reason, do.
use crate::domain::audit::StoredEvent;
use crate::domain::documents::document_kind;
use crate::domain::money::Fen;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    pub at_ms: i64,
    pub zh: String,
    pub en: String,
    /// Document kinds asked for, when the case was returned for documents.
    pub missing: Vec<String>,
    pub amount_fen: Option<i64>,
}

fn stage_text(stage: &str) -> (&'static str, &'static str) {
    match stage {
        "intake" => ("已受理，正在核对材料", "Received: checking the documents"),
        "initial_review" => ("初审中", "Under initial review"),
        "second_review" => ("复审中", "Under second review"),
        "signoff" => ("待负责人审批", "Awaiting sign-off"),
        _ => ("处理中", "In progress"),
    }
}

/// The timeline of a case's public events. On a confidential workflow (an investigation)
/// every stage reads "under review".
pub fn timeline(events: &[StoredEvent], confidential: bool) -> Vec<TimelineItem> {
    let mut items: Vec<TimelineItem> = Vec::new();
    for e in events.iter().filter(|e| e.public) {
        let new: Value = serde_json::from_str(&e.new_value).unwrap_or(Value::Null);
        let item = |zh: String, en: String| TimelineItem {
            at_ms: e.at_ms,
            zh,
            en,
            missing: Vec::new(),
            amount_fen: None,
        };
        let entry = match e.action.as_ref() {
            "opened" => item(
                "已收到您的报销申请".into(),
                "Your claim was received".into(),
            ),
            "document_added" => {
                let kind = new["kind"].as_str().unwrap_or_default();
                let meta = document_kind(kind);
                item(
                    format!("已上传材料：{}", meta.map_or(kind, |m| m.zh)),
                    format!("Document uploaded: {}", meta.map_or(kind, |m| m.en)),
                )
            }
            "document_rejected" => {
                let kind = new["kind"].as_str().unwrap_or_default();
                let meta = document_kind(kind);
                let reason = new["reason"].as_str().unwrap_or_default();
                let mut it = item(
                    format!(
                        "材料未通过审核：{}（{reason}），请重新上传",
                        meta.map_or(kind, |m| m.zh)
                    ),
                    format!(
                        "Document not accepted: {} ({reason}); please upload it again",
                        meta.map_or(kind, |m| m.en)
                    ),
                );
                it.missing = vec![kind.to_string()];
                it
            }
            "appeal_filed" => item(
                "已收到您的申诉，正在复核".into(),
                "Your appeal was received and is being reviewed".into(),
            ),
            "appeal_decided" => {
                let d = &new["decision"];
                let total: i64 = ["decided_fen", "catastrophic_fen", "assistance_fen"]
                    .iter()
                    .filter_map(|k| d[*k].as_i64())
                    .sum();
                let mut it = if new["outcome"] == "changed" {
                    item(
                        format!(
                            "申诉复核完成：决定变更，共支付 {} 元",
                            Fen(total).yuan_text()
                        ),
                        format!(
                            "Appeal decided: changed, {} will be paid in all",
                            Fen(total).yuan_text()
                        ),
                    )
                } else {
                    item(
                        "申诉复核完成：维持原决定".into(),
                        "Appeal decided: the decision stands".into(),
                    )
                };
                it.amount_fen = Some(total);
                it
            }
            _ if new.get("missing").is_some() => {
                let missing: Vec<String> = new["missing"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let names = |zh: bool| {
                    missing
                        .iter()
                        .map(|k| {
                            document_kind(k).map_or(k.as_str(), |m| if zh { m.zh } else { m.en })
                        })
                        .collect::<Vec<_>>()
                };
                let mut it = item(
                    format!("需要补充材料：{}", names(true).join("、")),
                    format!("Documents needed: {}", names(false).join(", ")),
                );
                it.missing = missing;
                it
            }
            _ if new.get("decision").is_some() => {
                let d = &new["decision"];
                let amount = d["decided_fen"].as_i64().unwrap_or(0);
                let mut it = match d["outcome"].as_str() {
                    Some("approved") => item(
                        format!("审核完成：核准支付 {} 元", Fen(amount).yuan_text()),
                        format!(
                            "Decided: approved, {} will be paid",
                            Fen(amount).yuan_text()
                        ),
                    ),
                    Some("partially_approved") => item(
                        format!("审核完成：部分核准，支付 {} 元", Fen(amount).yuan_text()),
                        format!(
                            "Decided: partially approved, {} will be paid",
                            Fen(amount).yuan_text()
                        ),
                    ),
                    _ => item(
                        format!(
                            "审核完成：不予支付（{}）",
                            d["reason_zh"].as_str().unwrap_or("")
                        ),
                        format!(
                            "Decided: not paid ({})",
                            d["reason_en"].as_str().unwrap_or("")
                        ),
                    ),
                };
                it.amount_fen = Some(amount);
                it
            }
            _ => match (new["stage"].as_str(), new["outcome"].as_str()) {
                (_, Some("withdrawn")) => {
                    item("申请已撤回".into(), "The claim was withdrawn".into())
                }
                (Some(stage), _) => {
                    let (zh, en) = if confidential && stage != "awaiting_documents" {
                        ("审核中", "Under review")
                    } else {
                        stage_text(stage)
                    };
                    item(zh.into(), en.into())
                }
                _ => continue,
            },
        };
        // Consecutive internal moves read the same to a resident; show them once.
        if items.last().is_some_and(|last| last.zh == entry.zh) {
            continue;
        }
        items.push(entry);
    }
    items
}
