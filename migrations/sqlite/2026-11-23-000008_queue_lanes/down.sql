DROP INDEX cases_escalated;
