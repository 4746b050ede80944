DROP TABLE payment_items;
DROP TABLE payments;
DROP TABLE payment_batches;
DROP TABLE payee_accounts;
