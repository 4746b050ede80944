//! Table definitions shared by both backends. Only portable types are used: times are
//! BIGINT milliseconds since the epoch, money is BIGINT fen, structured values are JSON text.
diesel::table! {
    regions (code) {
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        parent_code -> Nullable<Text>,
        level -> Text,
        path -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        region_code -> Text,
        org -> Text,
        email -> Nullable<Text>,
        lang -> Text,
        created_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        password_reset_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    account_events (id) {
        id -> BigInt,
        at_ms -> BigInt,
        admin_user_id -> BigInt,
        user_id -> BigInt,
        action -> Text,
        detail -> Text,
    }
}

diesel::table! {
    inbox_items (id) {
        id -> BigInt,
        user_id -> BigInt,
        dedupe_key -> Text,
        kind -> Text,
        case_id -> Nullable<BigInt>,
        href -> Text,
        created_at -> BigInt,
        read_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_failures (key) {
        key -> Text,
        failures -> BigInt,
        last_at_ms -> BigInt,
    }
}

diesel::table! {
    login_events (id) {
        id -> BigInt,
        at_ms -> BigInt,
        username -> Text,
        user_id -> Nullable<BigInt>,
        address -> Text,
        outcome -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    workflow_versions (name, version) {
        name -> Text,
        version -> Integer,
        sha256 -> Text,
        source -> Text,
        published_at -> BigInt,
    }
}

diesel::table! {
    claims (id) {
        id -> BigInt,
        resident_user_id -> Nullable<BigInt>,
        submitted_by -> BigInt,
        family -> Text,
        encounter_kind -> Text,
        facility_code -> Text,
        admission_date -> Text,
        discharge_date -> Text,
        diagnosis_code -> Text,
        invoice_numbers -> Text,
        total_fen -> BigInt,
        policy_scope_fen -> BigInt,
        self_paid_fen -> BigInt,
        family_facts -> Text,
        region_code -> Text,
        payable_fen -> Nullable<BigInt>,
        decided_fen -> Nullable<BigInt>,
        created_at -> BigInt,
        person_id -> Nullable<BigInt>,
        policy_name -> Nullable<Text>,
        breakdown -> Nullable<Text>,
        decision -> Nullable<Text>,
        itemised_lines -> Text,
        catastrophic_fen -> Nullable<BigInt>,
        assistance_fen -> Nullable<BigInt>,
        attending_doctor -> Nullable<Text>,
    }
}

diesel::table! {
    claim_stays (person_id, admission_date, claim_id) {
        person_id -> BigInt,
        admission_date -> Text,
        claim_id -> BigInt,
        discharge_date -> Text,
        facility_code -> Text,
        encounter_kind -> Text,
        family -> Text,
        diagnosis_code -> Text,
        rule_facts -> Text,
        total_fen -> BigInt,
        invoice_numbers -> Text,
        attending_doctor -> Nullable<Text>,
    }
}

diesel::table! {
    claim_documents (id) {
        id -> BigInt,
        claim_id -> BigInt,
        kind -> Text,
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        filename -> Text,
        status -> Text,
        reject_reason -> Nullable<Text>,
        uploaded_by -> BigInt,
        uploaded_at -> BigInt,
        request_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        subject_kind -> Text,
        subject_id -> BigInt,
        workflow -> Text,
        workflow_version -> Integer,
        stage -> Nullable<Text>,
        outcome -> Nullable<Text>,
        assignee_id -> Nullable<BigInt>,
        region_code -> Text,
        region_path -> Text,
        org -> Text,
        owner_user_id -> Nullable<BigInt>,
        returned_from -> Nullable<Text>,
        due_at -> Nullable<BigInt>,
        stage_entered_at -> BigInt,
        facts -> Text,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        lease_expires_at -> Nullable<BigInt>,
        sla_remaining_ms -> Nullable<BigInt>,
        escalated_to -> Nullable<Text>,
        escalated_at -> Nullable<BigInt>,
        last_seq -> BigInt,
        last_hash -> Text,
        escalation_step -> Integer,
        next_escalation_at -> Nullable<BigInt>,
        risk_score -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        case_id -> BigInt,
        seq -> BigInt,
        at_ms -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        role -> Text,
        action -> Text,
        from_stage -> Nullable<Text>,
        to_stage -> Nullable<Text>,
        old_value -> Text,
        new_value -> Text,
        comment -> Text,
        public -> Bool,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(claim_documents -> claims (claim_id));
diesel::joinable!(audit_events -> cases (case_id));
diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    whatif_runs (id) {
        id -> BigInt,
        created_by -> BigInt,
        created_at -> BigInt,
        draft_name -> Text,
        draft_region -> Text,
        draft_text -> Text,
        from_date -> Nullable<Text>,
        to_date -> Nullable<Text>,
        region_code -> Nullable<Text>,
        status -> Text,
        progress -> BigInt,
        result -> Nullable<Text>,
        error_zh -> Nullable<Text>,
        error_en -> Nullable<Text>,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    whatif_runs,
    regions,
    user_facilities,
    facility_tasks,
    inbox_items,
    appeals,
    payee_accounts,
    payment_batches,
    payments,
    payment_items,
    sessions,
    users,
    user_roles,
    workflow_versions,
    claims,
    claim_stays,
    claim_documents,
    cases,
    audit_events,
    facilities,
    facility_status,
    persons,
    enrolments,
    claim_invoices,
    case_findings,
    ytd_totals,
    idempotency_keys,
    user_absences,
    job_runs,
    mail_outbox,
    inspections,
    violations,
    evidence_files,
    recoveries,
    facility_scores,
    reports,
    report_violations,
    document_requests,
    person_suspensions,
    dual_approvals,
    audit_checkpoints,
    audit_checkpoint_heads,
);

diesel::table! {
    facilities (code) {
        code -> Text,
        name -> Text,
        level -> Text,
        region_code -> Text,
        ownership -> Text,
        contact_email -> Nullable<Text>,
    }
}

diesel::table! {
    facility_status (id) {
        id -> BigInt,
        facility_code -> Text,
        status -> Text,
        effective_from -> Text,
        reason -> Text,
        recorded_at -> BigInt,
    }
}

diesel::table! {
    persons (id) {
        id -> BigInt,
        id_number -> Text,
        name -> Text,
        sex -> Text,
        birth_date -> Text,
        household -> Text,
        region_code -> Text,
        email -> Nullable<Text>,
        death_date -> Nullable<Text>,
        user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    enrolments (id) {
        id -> BigInt,
        person_id -> BigInt,
        coverage_year -> Integer,
        period_start -> Text,
        period_end -> Text,
        tier -> Integer,
        enrolled_on -> Text,
        channel -> Text,
        special_groups -> Text,
        disabled_grade -> Nullable<Integer>,
    }
}

diesel::table! {
    claim_invoices (invoice_number, facility_code, claim_id) {
        invoice_number -> Text,
        facility_code -> Text,
        claim_id -> BigInt,
        person_id -> Nullable<BigInt>,
        invoice_key -> Text,
    }
}

diesel::table! {
    case_findings (id) {
        id -> BigInt,
        case_id -> BigInt,
        code -> Text,
        severity -> Text,
        message_zh -> Text,
        message_en -> Text,
        evidence -> Text,
        created_at -> BigInt,
        overridden_at -> Nullable<BigInt>,
        overridden_by -> Nullable<BigInt>,
        override_reason -> Nullable<Text>,
        override_comment -> Nullable<Text>,
    }
}

diesel::table! {
    ytd_totals (person_id, schedule, year) {
        person_id -> BigInt,
        schedule -> Text,
        year -> Integer,
        scope_fen -> BigInt,
        over_limit_paid_fen -> BigInt,
        outpatient_paid_fen -> BigInt,
        paid_fen -> BigInt,
        catastrophic_base_fen -> BigInt,
        catastrophic_paid_fen -> BigInt,
        assistance_paid_fen -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> BigInt,
        key -> Text,
        request_hash -> Text,
        claim_id -> BigInt,
        case_id -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_absences (id) {
        id -> BigInt,
        user_id -> BigInt,
        from_date -> Text,
        to_date -> Text,
        reason -> Text,
        created_by -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    job_runs (job, tick_ms) {
        job -> Text,
        tick_ms -> BigInt,
        instance -> Text,
        started_at -> BigInt,
        finished_at -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        dedupe_key -> Text,
        template -> Text,
        lang -> Text,
        to_addr -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        case_id -> Nullable<BigInt>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    inspections (id) {
        id -> BigInt,
        facility_code -> Text,
        kind -> Text,
        inspected_on -> Text,
        team -> Text,
        scope -> Text,
        inspector_id -> BigInt,
        region_code -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    violations (id) {
        id -> BigInt,
        inspection_id -> Nullable<BigInt>,
        facility_code -> Text,
        type_code -> Text,
        article -> Text,
        amount_fen -> BigInt,
        claim_ids -> Text,
        department -> Text,
        description -> Text,
        region_code -> Text,
        created_by -> BigInt,
        created_at -> BigInt,
        repay_fen -> Nullable<BigInt>,
        fine_fen -> Nullable<BigInt>,
        suspension_months -> Nullable<Integer>,
        suspended_from -> Nullable<Text>,
        suspended_until -> Nullable<Text>,
        terminated -> Nullable<Bool>,
        sanction_reason -> Nullable<Text>,
        sanctioned_by -> Nullable<BigInt>,
        sanctioned_at -> Nullable<BigInt>,
        rectification_due -> Nullable<Text>,
        person_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    evidence_files (id) {
        id -> BigInt,
        subject_kind -> Text,
        subject_id -> BigInt,
        sha256 -> Text,
        content_type -> Text,
        filename -> Text,
        size_bytes -> BigInt,
        uploaded_by -> Nullable<BigInt>,
        uploaded_at -> BigInt,
        disclosed -> Bool,
        purpose -> Text,
    }
}

diesel::table! {
    recoveries (id) {
        id -> BigInt,
        violation_id -> BigInt,
        kind -> Text,
        amount_fen -> BigInt,
        paid_fen -> BigInt,
        created_at -> BigInt,
        settled_at -> Nullable<BigInt>,
        written_off_fen -> BigInt,
    }
}

diesel::table! {
    screening_stats (kind, subject) {
        kind -> Text,
        subject -> Text,
        outlier -> Bool,
        body -> Text,
        computed_at -> BigInt,
    }
}

diesel::table! {
    facility_scores (facility_code) {
        facility_code -> Text,
        outlier -> Bool,
        score -> Text,
        computed_at -> BigInt,
    }
}

diesel::table! {
    reports (id) {
        id -> BigInt,
        tracking_hash -> Text,
        facility_code -> Nullable<Text>,
        person_id_number -> Nullable<Text>,
        claim_id -> Nullable<BigInt>,
        description -> Text,
        contact -> Nullable<Text>,
        client_addr -> Text,
        region_code -> Text,
        created_at -> BigInt,
        reward_fen -> Nullable<BigInt>,
        reward_paid_fen -> BigInt,
        reward_paid_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    report_violations (report_id, violation_id) {
        report_id -> BigInt,
        violation_id -> BigInt,
    }
}

diesel::table! {
    document_requests (id) {
        id -> BigInt,
        claim_id -> BigInt,
        case_id -> BigInt,
        kind -> Text,
        description -> Text,
        comment -> Text,
        requested_by -> BigInt,
        requested_at -> BigInt,
        document_id -> Nullable<BigInt>,
        answered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    person_suspensions (id) {
        id -> BigInt,
        person_id -> BigInt,
        violation_id -> BigInt,
        starts_on -> Text,
        ends_on -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    dual_approvals (id) {
        id -> BigInt,
        violation_id -> BigInt,
        kind -> Text,
        proposal -> Text,
        reason_code -> Nullable<Text>,
        reason -> Text,
        proposed_by -> BigInt,
        proposed_at -> BigInt,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<BigInt>,
        decision -> Nullable<Text>,
    }
}

diesel::table! {
    audit_checkpoints (id) {
        id -> BigInt,
        at_ms -> BigInt,
        max_event_id -> BigInt,
        events -> BigInt,
        mac -> Text,
        login_max_id -> BigInt,
        login_hash -> Text,
    }
}

diesel::table! {
    audit_checkpoint_heads (checkpoint_id, case_id) {
        checkpoint_id -> BigInt,
        case_id -> BigInt,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    payee_accounts (person_id) {
        person_id -> BigInt,
        bank -> Text,
        holder -> Text,
        number_cipher -> Text,
        last4 -> Text,
        updated_by -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    payment_batches (id) {
        id -> BigInt,
        region_code -> Text,
        region_path -> Text,
        cutoff_ms -> BigInt,
        status -> Text,
        item_count -> BigInt,
        total_fen -> BigInt,
        created_by -> BigInt,
        created_at -> BigInt,
        exported_by -> Nullable<BigInt>,
        exported_at -> Nullable<BigInt>,
        file_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    payments (id) {
        id -> BigInt,
        claim_id -> BigInt,
        seq -> BigInt,
        person_id -> BigInt,
        region_path -> Text,
        amount_fen -> BigInt,
        status -> Text,
        attempt -> BigInt,
        batch_id -> Nullable<BigInt>,
        payable_at -> BigInt,
        paid_on -> Nullable<Text>,
        account_last4 -> Nullable<Text>,
        reason -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    payment_items (batch_id, payment_id) {
        batch_id -> BigInt,
        payment_id -> BigInt,
        claim_id -> BigInt,
        reference -> Text,
        amount_fen -> BigInt,
        bank -> Text,
        holder -> Text,
        number_cipher -> Text,
        account_last4 -> Text,
        result -> Text,
        result_on -> Nullable<Text>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    appeals (id) {
        id -> BigInt,
        claim_id -> BigInt,
        claim_case_id -> BigInt,
        filed_by -> BigInt,
        reason -> Text,
        filed_at -> BigInt,
        old_reimbursed_fen -> BigInt,
        outcome -> Nullable<Text>,
        new_reimbursed_fen -> Nullable<BigInt>,
        decided_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    user_facilities (user_id, facility_code) {
        user_id -> BigInt,
        facility_code -> Text,
    }
}

diesel::table! {
    facility_tasks (id) {
        id -> BigInt,
        case_id -> BigInt,
        facility_code -> Text,
        stage -> Text,
        opened_at -> BigInt,
        closed_at -> Nullable<BigInt>,
        closed_action -> Nullable<Text>,
        closed_by -> Nullable<BigInt>,
    }
}

// The facility dashboard counts screening findings per facility and rule.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    claims::facility_code,
    case_findings::code
);
