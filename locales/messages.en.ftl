# Every message a user can be shown: a stable code = its English text (Project Fluent).
# Every code must also be in messages.zh-CN.ftl with the same arguments; the tests in
# src/messages.rs check it, and that every code the source uses is here.
# Amount arguments arrive written in yuan (thousands separators, two decimals).


account-digits = an account number is digits only (spaces and dashes allowed)
account-length = an account number has 10 to 30 digits, this one has { $got }
account-luhn = the card number's check digit is wrong (Luhn): please check the number

auth-bad-login = invalid username or password
auth-bearer-expected = expected `Authorization: Bearer <token>`
auth-header-malformed = malformed Authorization header
auth-no-token = sign in first: no token was sent
auth-session-ended = your session has ended: sign in again
auth-token-invalid = invalid token: { $detail }
auth-token-subject = invalid token subject

bad-json = malformed JSON body: { $detail }
bad-multipart = malformed multipart body: { $detail }
bad-query = { $detail }

conflict-appeal-decided = appeal { $id } was decided already
conflict-batch-changed = the batch's payments changed while it was exported; try again
conflict-batch-claims = payable claims changed while the batch was made; try again
conflict-batch-exported = payment batch { $id } was exported meanwhile
conflict-case-changed = case { $case } changed while you acted; reload and try again
conflict-case-leased = case { $case } is leased by user { $holder } until { $until }; ask them to release it or a supervisor to reassign it
conflict-case-version = case { $case } is at version { $version }, not { $expected }: someone changed it; reload and try again
conflict-concurrent = { $detail }; reload and try again
conflict-facility-exists = facility { $code } exists
conflict-idempotency = this Idempotency-Key was used with a different request body
conflict-leased-by-other = case { $case } is leased by someone else
conflict-not-leased = case { $case } is not leased
conflict-payment-not-waiting = payment of reference { $reference } is no longer waiting for the bank
conflict-person-exists = a person with ID number { $id } exists
conflict-report-closed = the report is closed; it takes no more files

detail = { $text }

field-above-policy = { $amount } yuan exceeds what the policy allows now ({ $computed } yuan)
field-absence-reason = say why (leave, training, …)
field-account-not-linked = your account is not linked to an insured person; ask the service counter
field-amount-at-most = must be at most { $max } yuan
field-amount-range = must be 0 to { $max } yuan
field-at-most-chars = at most { $max } { $max ->
        [one] character
       *[other] characters
    }
field-between = between { $min } and { $max }
field-body-json = the body does not match what this endpoint takes: { $detail }
field-case-number = expected a case number, got `{ $value }`
field-choose-action = choose the action to take
field-clerk-needs-id = a clerk must give the insured person's ID number
field-cursor = expected the `next` value of the previous page
field-date = expected a date YYYY-MM-DD, got `{ $value }`
field-discharge-before-admission = discharge { $discharge } is before admission { $admission }
field-doctor-code = must be 1 to 32 ASCII letters, digits and dashes (the doctor's code, not the name)
field-email = not an email address
field-emergency-claims-only = only claims are judged an emergency
field-emergency-parts = the emergency explanation needs time, place, cause, witness and contact
field-emergency-reviewers-only = only reviewers judge whether a claim was an emergency
field-end-before-start = before the start date
field-exceeds-total = cannot exceed the total
field-file-empty = the file is empty
field-file-missing = missing: attach the file
field-icd10 = expected an ICD-10 code such as S72.001, got `{ $value }`
field-id-says = the ID number says { $value }
field-idempotency-ascii = must be visible ASCII
field-inspection-facility = inspection { $id } was of facility { $inspected }, not { $facility }
field-invoice-number = must be 1 to { $max } ASCII letters and digits, with - _ / . between them
field-invoice-required = at least one invoice number is required
field-kind-missing = missing: name the document kind
field-length = { $min } to { $max } characters
field-length-got = { $min } to { $max } characters, got { $got }
field-lines-sum = the lines add up to { $sum } yuan but the total is { $total } yuan
field-negative = must not be negative
field-no-claim = no claim { $id }
field-no-inspection = no inspection { $id }
field-no-person = no insured person has this ID number
field-no-workflow = no published workflow for `{ $family }`
field-number = expected a number, got `{ $value }`
field-one-of = expected one of { $allowed }, got `{ $value }`
field-override-reason = overriding the computed amount needs a reason
field-partial-below = a partial approval must grant less than the computed { $computed } yuan
field-partial-needs-amount = a partial approval needs the amount granted
field-password-short = the password must be at least { $min } characters
field-positive = must be more than 0
field-province-admin-only = only a province-level admin may add a province
field-reason-length = give a reason of 1 to { $max } bytes
field-region-code = expected a 6-digit administrative code, got `{ $value }`
field-region-county-leaf = a county cannot have sub-regions
field-region-exists = region { $code } already exists
field-region-outside = region { $code } is outside your region
field-reject-reason = a rejection needs a reason code
field-report-files = at most { $max } files per report
field-report-subject = name the facility, the person or the claim concerned
field-request-id = expected the number of a requested item
field-required = must not be empty
field-roles-empty = give the user at least one role
field-sanction-via-form = record the sanction with POST /api/violations/{ $id }/sanction; it takes this action
field-status-reason = a status change needs a reason
field-suspension-from = a suspension or termination needs its first day
field-to-after-from = must be after `from`
field-to-before-from = must not be before `from`
field-too-long = too long: at most { $max } bytes
field-unknown-doc-kind = unknown document kind `{ $kind }`
field-unknown-facility = unknown facility `{ $code }`
field-unknown-region = unknown region `{ $code }`
field-unknown-role = unknown role `{ $value }`
field-upload-unexpected = unexpected field; send `kind`, `file` and optionally `request_id`
field-user-region-unknown = the user's region is unknown
field-username = 1 to 64 characters without spaces
field-username-taken = user `{ $name }` already exists
field-utf8 = must be UTF-8 text
field-yuan = expected an amount in yuan, got `{ $value }`
field-yuan-cents = `{ $value }`: expected a non-negative amount with at most two decimals
field-yuan-too-large = `{ $value }` is too large

forbidden-add-documents = only the resident, a clerk or a reviewer may add documents
forbidden-admin-documents = admins manage accounts and do not open claim documents
forbidden-case-stage = you may not work case { $case } in its current stage (role or four-eyes)
forbidden-csrf = the page has expired or the form came from elsewhere: go back, reload and try again
forbidden-facility-region = facility { $code } is outside your region
forbidden-metrics = /metrics needs `Authorization: Bearer <metrics_token>` (or, with no token set, a loopback client)
forbidden-no-queue = none of your roles works a queue
forbidden-page = your account may not open this page
forbidden-release = only the holder or a supervisor may release a lease
forbidden-roles = this needs one of the roles: { $roles }
forbidden-staff-only = staff only

id-birth-date = `{ $value }` is not a valid birth date
id-check-digit = check digit is `{ $got }`, expected `{ $expected }` (GB 11643)
id-digits = the first 17 characters must be digits
id-length = expected 18 characters, got { $got }

media-document = the file is not a PDF, JPEG or PNG (checked by its content, not its name)
media-json = send the body as application/json

refusal-blocked-by-findings = action `{ $action }` would pay the claim, but { $count } { $count ->
        [one] finding
       *[other] findings
    } of severity error stand; a supervisor must override each at sign-off with a reason first
refusal-closed = the case is closed
refusal-comment-required = action `{ $action }` requires a comment
refusal-four-eyes = four-eyes rule: you acted in stage `{ $earlier }` of this case, so you may not act in `{ $stage }`
refusal-guard = action `{ $action }` is not allowed now: its condition `{ $guard }` does not hold
refusal-money-outstanding = action `{ $action }` would close the violation while { $outstanding } yuan is still owed; record the payments, or have two supervisors write it off
refusal-no-return-stage = the case has no stage to return to
refusal-role = action `{ $action }` needs one of the roles { $roles }
refusal-unknown-action = action `{ $action }` is not available in stage `{ $stage }`
refusal-unknown-stage = the case is in stage `{ $stage }`, which this workflow version does not define

rule-account-field = { $field } must be given, at most { $max } characters
rule-account-missing = claim { $claim_id }'s payee account is gone
rule-amount-not-positive = the amount must be more than 0 yuan
rule-appeal-amount = the changed basic amount must be between 0 and { $payable } yuan
rule-appeal-amount-2 = changing the decision needs the new basic-insurance amount
rule-appeal-deadline-passed = the appeal period ({ $appeal_days } days after the decision, until { $day }) has passed
rule-appeal-exists = this decision has been appealed already: follow that appeal
rule-appeal-filer = an appeal is filed by the resident, or by a clerk for them
rule-appeal-no-person = the claim names no insured person, so it cannot be priced again
rule-appeal-no-policy = no policy applies to the claim (enrolment or policy year), so the amount cannot be changed on appeal
rule-appeal-not-decided = the claim has no decision yet to appeal against
rule-appeal-reason = give the reason for the appeal (at most 2,000 characters)
rule-appeal-reduces-paid = more than the new { $new_total } yuan has gone to the bank: the difference is recovered from the resident, not taken off on appeal
rule-appeal-unpriced = the earlier decision did not record its policy and year-to-date totals, so the amount cannot be changed on appeal
rule-bad-date = `{ $value }` is not a date (YYYY-MM-DD)
rule-bank-result-rejected = the bank result file was not applied, nothing was recorded: { $problems }
rule-case-closed = the claim is decided and takes no more documents; file an appeal first
rule-choose-violation = choose a violation
rule-claim-not-citable = claim { $missing } cannot be cited: it does not exist or is outside your region
rule-confirm-required = disabling ends all of the user's sessions at once: tick to confirm
rule-disable-self = you cannot disable your own account
rule-extra-document-needs-description = describe each other document asked for, in 1 to 500 bytes
rule-facility-not-designated = { $facility } was { $status } on { $day }; care there in that period is not paid
rule-finding-already-overridden = finding { $id } was already overridden
rule-finding-not-blocking = only error findings block payment; this one needs no override
rule-four-eyes = you acted in stage `{ $stage }` of this case; an override needs someone who took no part in the review
rule-four-eyes-2 = a proposal is decided by a second supervisor, not its proposer
rule-individual-needs-person = article 41 covers acts of individuals: give the insured person's ID number
rule-link-not-resident = only a resident account can be linked to an insured person
rule-no-such-violation = there is no violation { $violation_id } in your region
rule-not-at-decision = violation { $violation_id } is at stage `{ $at }`, not decision
rule-not-this-violations-recovery = the item chosen is not a repayment or fine of this violation
rule-nothing-owed = nothing is owed on this violation
rule-nothing-payable = { $region } has no payable claim with a payee account by the cut-off ({ $waiting } more lack an account)
rule-nothing-recovered = nothing has been recovered yet, so no reward is due
rule-override-comment-required = overriding an error finding needs a comment of 1 to 4000 bytes
rule-override-needs-sign-off-role = an override is taken by the sign-off's `{ $role }`
rule-override-only-at-sign-off = an error finding is overridden only at sign-off; case { $case } is at `{ $at }`
rule-override-reason-not-applicable = reason `{ $reason }` does not apply to a `{ $finding }` finding
rule-password-change-required = an administrator reset your password: choose a new one first
rule-password-changed-meanwhile = the password was changed meanwhile; sign in again
rule-password-too-short = the password must be at least { $MIN_PASSWORD_CHARS } characters
rule-password-unchanged = the new password must differ from the current one
rule-password-wrong = the current password is not right
rule-payment-above-owed = { $amount } yuan is more than the { $outstanding } yuan still owed
rule-payments-readers = payment batches and reconciliation are for supervisors, directors and auditors
rule-payments-supervisor-only = only a supervisor creates and exports payment batches and imports bank results
rule-period-empty = the period's end must be after its start
rule-person-linked = this insured person is linked to another account
rule-person-not-found = no insured person in your region has this ID number
rule-person-only-for-individuals = only article 41 (acts of individuals) is against a person
rule-person-unknown = no insured person with ID number { $id_number } in your region
rule-proposal-decided = proposal { $id } was already decided
rule-proposal-outdated = the proposal is no longer below the minimum; decide it afresh
rule-queue-sort-unknown = cannot sort by `{ $value }`: expected due, amount, opened or case (a leading - sorts descending)
rule-reassign-absent = { $who } is marked absent today
rule-reassign-changed = case #{ $id } changed meanwhile; reload and try again
rule-reassign-closed = case #{ $case } is closed
rule-reassign-four-eyes = four eyes: { $who } already acted on case #{ $case } in an earlier stage
rule-reassign-reason = a reassignment needs a reason
rule-reassign-region = case #{ $case } is outside { $who }'s region
rule-reassign-role = { $who } does not hold the role `{ $role }` that case #{ $case }'s stage ({ $stage }) needs
rule-reassign-selection = select between 1 and 500 cases ({ $selected } selected)
rule-reassign-unknown-user = no active staff member { $id }
rule-reassign-waiting = case #{ $case } is waiting for the resident's documents
rule-recovery-changed = a payment was recorded meanwhile; propose the write-off again
rule-region-outside = `{ $region_code }` is not a region within yours
rule-report-not-confirmed = only a confirmed report earns a reward
rule-request-answered = item { $id } has been answered already
rule-request-kind-mismatch = item { $id } asks for { $asked }, the upload is { $given }
rule-request-not-open = item { $id } is not one the latest return of this claim asked for
rule-return-needs-items = a return for documents must name at least one document to send
rule-reward-above-due = the reward is { $due } yuan and { $paid } yuan is paid; { $left } yuan is left
rule-role-unknown = unknown role `{ $value }`
rule-roles-empty = give the user at least one role
rule-team-view-supervisors-only = Only a supervisor may see the whole team's cases
rule-tracking-code-required = the tracking code is required
rule-unknown-document-kind = unknown document kind `{ $bad }`; name other documents with a description
rule-unknown-override-reason = unknown override reason `{ $code }`; expected one of { $allowed }
rule-unknown-region = unknown region, or one outside your own
rule-write-off-needs-reason = a write-off needs a reason of 1 to 4000 bytes

sanction-fine-above = a fine of { $fine } yuan exceeds article { $article }: it allows { $min } to { $max } yuan
sanction-fine-below = a fine of { $fine } yuan is below article { $article }'s minimum of { $min } yuan; a lighter sanction needs a mitigating circumstance ({ $circumstances }) and a second supervisor's approval
sanction-fine-negative = a fine cannot be negative
sanction-no-suspension = article { $article } provides no suspension
sanction-no-termination = article { $article } does not provide termination
sanction-suspension-above = a suspension of { $months } months exceeds article { $article }: it allows { $min } to { $max } months
sanction-suspension-below = a suspension of { $months } months is below article { $article }'s minimum of { $min } months; a lighter sanction needs a mitigating circumstance ({ $circumstances }) and a second supervisor's approval

too-large-json = JSON bodies are limited to { $limit } bytes
too-large-upload = the file is larger than the limit of { $mib } MB
too-many-reports = at most { $max } reports an hour from one address; please try again later

upload-interrupted = upload interrupted: { $detail }

# The bank's result file, row by row.
row-error = line { $line }, { $field }: { $problem }
bank-row-amount = `{ $value }` is not an amount in yuan (positive, at most two decimals)
bank-row-header-unreadable = the header cannot be read: { $detail }
bank-row-header = the header must be { $expected }, found { $found }
bank-row-unreadable = cannot be read: { $detail }
bank-row-columns = expected { $expected } columns, found { $found }
bank-row-reference-missing = the reference is missing
bank-row-reference-twice = reference { $reference } appears twice in the file
bank-row-paid-date = `{ $value }` is not a date (YYYY-MM-DD); a paid row needs its date
bank-row-reason-missing = a failed or returned row needs its reason
bank-row-status = unknown status `{ $value }`: expected paid, failed or returned
bank-row-none = the file has no result rows
bank-row-reference-unknown = reference { $reference } belongs to no exported payment batch
bank-row-amount-differs = the amount { $amount } yuan differs from the { $sent } yuan sent in batch { $batch }
bank-row-already = reference { $reference } is already recorded as { $recorded }, not { $status }

# The facility side.
field-facility-roles-alone = a facility account holds only the roles facility and facility_admin
field-facility-codes = name the facility codes this account speaks for
field-facility-codes-not-facility = only a facility account speaks for facilities
field-correction-via-form = correct the invoice with its amounts (POST /api/facility/cases/{ $case }/invoice); it takes this action
field-facility-files = at most { $max } files for one stage
rule-facility-turn-over = case { $case } is not waiting for your facility now
rule-facility-deadline-passed = the deadline for case { $case } has passed; the case goes on without your facility
rule-facility-staff-limit = facility { $facility } already has the { $limit } accounts the agency allows
