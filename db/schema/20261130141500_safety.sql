-- migrate:up

/*
 * Signing out everywhere: a token whose iat (whole seconds) is below tokens_valid_from is refused.
 * The instant is always a whole second, the one after the revocation, so every token issued before
 * it (iat at most the revocation's own second) dies, and the gateway issues the tokens that come
 * after it with iat = tokens_valid_from at least. Null: never revoked.
 * suspended_until: reports from distinct users past the configured threshold keep an account out
 * of the matching pool until then.
 */
alter table app.users
  add column tokens_valid_from timestamptz check (tokens_valid_from = date_trunc('second', tokens_valid_from)),
  add column suspended_until timestamptz;

-- One reason more: a member blocked the partner of the room.
alter table app.rooms drop constraint rooms_closed_reason_check;
alter table app.rooms add constraint rooms_closed_reason_check
  check (closed_reason in ('closed', 'expired', 'blocked'));

/*
 * A member blocked the partner of a room: the two are never matched again, in either direction,
 * while a block row between them exists. Kept per room because the API names rooms, never users.
 */
create table app.blocks (
  blocker_id uuid not null references app.users on delete cascade,
  room_id    uuid not null references app.rooms on delete cascade,
  blocked_id uuid not null references app.users on delete cascade,
  created_at timestamptz not null default clock_timestamp(),
  primary key (blocker_id, room_id),
  check (blocker_id <> blocked_id)
);
-- "is there a block between these two", asked from either side by every pool join
create index blocks_pair_idx on app.blocks (blocker_id, blocked_id);
create index blocks_blocked_pair_idx on app.blocks (blocked_id, blocker_id);

/*
 * A report about the partner of a room, for operators. It keeps the room's metadata by value, so
 * it outlives the room and both accounts; messages holds the room's last 50 messages only when
 * the reporter consented (null otherwise). A reporter's reports go with their account; a reported
 * account that is deleted leaves its reports behind without its id.
 */
create table app.reports (
  id                 uuid primary key default gen_random_uuid(),
  reporter_id        uuid references app.users on delete cascade,
  reported_id        uuid references app.users on delete set null,
  room_id            uuid references app.rooms on delete set null,
  reason             text not null check (reason in ('spam', 'harassment', 'hate', 'sexual', 'violence', 'self_harm', 'underage', 'other')),
  note               text check (char_length(note) between 1 and 500),
  room_created_at    timestamptz not null,
  room_closed_at     timestamptz,
  room_closed_reason text,
  reporter_country   char(2) not null,
  reported_country   char(2) not null,
  messages           jsonb check (messages is null or jsonb_typeof(messages) = 'array'),
  created_at         timestamptz not null default now(),
  unique (room_id, reporter_id)
);
-- the suspension rule counts a reported account's recent reports
create index reports_reported_idx on app.reports (reported_id, created_at);

/*
 * Per-user budgets of actions that cost others something (reports, blocks, password checks),
 * counted in a fixed window like app.rate_limits.
 */
create table app.user_actions (
  user_id      uuid not null references app.users on delete cascade,
  action       text not null,
  count        integer not null,
  window_start timestamptz not null,
  primary key (user_id, action)
);

-- migrate:down

drop table app.user_actions;
drop table app.reports;
drop table app.blocks;
alter table app.rooms drop constraint rooms_closed_reason_check;
alter table app.rooms add constraint rooms_closed_reason_check check (closed_reason in ('closed', 'expired'));
alter table app.users drop column suspended_until, drop column tokens_valid_from;
