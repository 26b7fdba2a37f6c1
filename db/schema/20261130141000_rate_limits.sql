-- migrate:up

/*
 * What was app.login_failures now counts every attempt an anonymous client pays for (logins and
 * registrations), per key: a fixed window per client address, or an exponential backoff per
 * account and address (blocked_until). See db/functions/api/login.sql and register.sql.
 */
alter table app.login_failures rename to rate_limits;
alter table app.rate_limits rename column failures to attempts;
alter table app.rate_limits add column blocked_until timestamptz;
alter index app.login_failures_pkey rename to rate_limits_pkey;

-- migrate:down

alter index app.rate_limits_pkey rename to login_failures_pkey;
alter table app.rate_limits drop column blocked_until;
alter table app.rate_limits rename column attempts to failures;
alter table app.rate_limits rename to login_failures;
