DROP TABLE login_events;
DROP TABLE login_failures;
