//! The catalogue of document kinds (handbook §4). Workflow files may only name these.

pub struct DocumentKind {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

pub const DOCUMENT_KINDS: &[DocumentKind] = &[
    DocumentKind {
        code: "invoice",
        zh: "医疗费用发票",
        en: "Medical invoice",
    },
    DocumentKind {
        code: "itemised_bill",
        zh: "费用明细清单",
        en: "Itemised bill",
    },
    DocumentKind {
        code: "diagnosis_certificate",
        zh: "诊断证明",
        en: "Diagnosis certificate",
    },
    DocumentKind {
        code: "discharge_summary",
        zh: "出院小结",
        en: "Discharge summary",
    },
    DocumentKind {
        code: "medical_record",
        zh: "病历",
        en: "Medical record",
    },
    DocumentKind {
        code: "identity_document",
        zh: "身份证件",
        en: "Identity document",
    },
    DocumentKind {
        code: "identity_confirmation",
        zh: "身份确认单",
        en: "Identity confirmation form",
    },
    DocumentKind {
        code: "social_security_card",
        zh: "社会保障卡",
        en: "Social security card",
    },
    DocumentKind {
        code: "out_of_region_filing",
        zh: "异地就医备案记录",
        en: "Out-of-region filing record",
    },
    DocumentKind {
        code: "emergency_explanation",
        zh: "急诊情况说明",
        en: "Emergency explanation letter",
    },
    DocumentKind {
        code: "referral_certificate",
        zh: "转诊转院证明",
        en: "Referral / transfer certificate",
    },
    DocumentKind {
        code: "no_third_party_certificate",
        zh: "村/居委会无第三方责任证明",
        en: "No-third-party certificate (village/residents' committee)",
    },
    DocumentKind {
        code: "accident_injury_approval",
        zh: "意外伤害病人补偿审批表",
        en: "Accident-injury approval form",
    },
    DocumentKind {
        code: "birth_certificate",
        zh: "出生医学证明",
        en: "Birth certificate",
    },
    // A document a reviewer names when returning a claim, described in their words.
    DocumentKind {
        code: "other",
        zh: "其他补充材料",
        en: "Other document",
    },
    DocumentKind {
        code: "inspection_evidence",
        zh: "检查证据材料",
        en: "Inspection evidence",
    },
    DocumentKind {
        code: "report_attachment",
        zh: "举报附件",
        en: "Report attachment",
    },
];

pub fn document_kind(code: &str) -> Option<&'static DocumentKind> {
    DOCUMENT_KINDS.iter().find(|k| k.code == code)
}
