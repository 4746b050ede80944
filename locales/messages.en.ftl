# Every message a user can be shown: a stable code = its English text (Project Fluent).
# Every code must also be in messages.zh-CN.ftl with the same arguments; the tests in
# src/messages.rs check it, and that every code the source uses is here.
# Amount arguments arrive written in yuan (thousands separators, two decimals).


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
field-clerk-needs-id = a clerk must give the insured person's ID number
field-cursor = expected the `next` value of the previous page
field-date = expected a date YYYY-MM-DD, got `{ $value }`
field-discharge-before-admission = discharge { $discharge } is before admission { $admission }
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

too-large-json = JSON bodies are limited to { $limit } bytes
too-large-upload = the file is larger than the limit of { $mib } MB
too-many-reports = at most { $max } reports an hour from one address; please try again later

upload-interrupted = upload interrupted: { $detail }
