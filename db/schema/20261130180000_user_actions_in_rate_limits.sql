-- migrate:up

/*
 * Per-user action budgets (blocks, reports, password checks) are counted in app.rate_limits, under
 * keys "user:<id> <action>" (internal.count_user_action), by the same fixed-window counter as the
 * anonymous limits: their own table is gone. Budgets last at most an hour; they start afresh.
 */
drop table app.user_actions;

-- migrate:down

create table app.user_actions (
  user_id      uuid not null references app.users on delete cascade,
  action       text not null,
  count        integer not null,
  window_start timestamptz not null,
  primary key (user_id, action)
);
