-- migrate:up

/*
 * Three schemas (docs/architecture.md): app holds every table, internal holds helpers and trigger
 * functions, api holds what the gateway may call. Only app is created here: api and internal are
 * re-created from db/functions/ on every start-up, so they never drift from their files.
 */
create schema app;

/*
 * The gateway connects as the owner but switches to this role on every pooled connection, so
 * a bug in TypeScript can reach the data only through api.* functions (security definer).
 */
do $$
begin
  if not exists (select from pg_roles where rolname = 'chat_gateway') then
    create role chat_gateway nologin;
  end if;
exception
  when duplicate_object or unique_violation then null; -- another database of the cluster won the race
end
$$;


-- ISO 3166-1 alpha-2: the officially assigned codes (249).
create table app.countries (
  code char(2) primary key check (code ~ '^[A-Z]{2}$')
);
insert into app.countries (code) values
  ('AD'), ('AE'), ('AF'), ('AG'), ('AI'), ('AL'), ('AM'), ('AO'), ('AQ'), ('AR'), ('AS'), ('AT'), ('AU'), ('AW'), ('AX'), ('AZ'), ('BA'), ('BB'), ('BD'), ('BE'), ('BF'), ('BG'), ('BH'), ('BI'), ('BJ'), ('BL'), ('BM'), ('BN'), ('BO'), ('BQ'), ('BR'), ('BS'), ('BT'), ('BV'), ('BW'), ('BY'), ('BZ'), ('CA'), ('CC'), ('CD'), ('CF'), ('CG'), ('CH'), ('CI'), ('CK'), ('CL'), ('CM'), ('CN'), ('CO'), ('CR'), ('CU'), ('CV'), ('CW'), ('CX'), ('CY'), ('CZ'), ('DE'), ('DJ'), ('DK'), ('DM'), ('DO'), ('DZ'), ('EC'), ('EE'), ('EG'), ('EH'), ('ER'), ('ES'), ('ET'), ('FI'), ('FJ'), ('FK'), ('FM'), ('FO'), ('FR'), ('GA'), ('GB'), ('GD'), ('GE'), ('GF'), ('GG'), ('GH'), ('GI'), ('GL'), ('GM'), ('GN'), ('GP'), ('GQ'), ('GR'), ('GS'), ('GT'), ('GU'), ('GW'), ('GY'), ('HK'), ('HM'), ('HN'), ('HR'), ('HT'), ('HU'), ('ID'), ('IE'), ('IL'), ('IM'), ('IN'), ('IO'), ('IQ'), ('IR'), ('IS'), ('IT'), ('JE'), ('JM'), ('JO'), ('JP'), ('KE'), ('KG'), ('KH'), ('KI'), ('KM'), ('KN'), ('KP'), ('KR'), ('KW'), ('KY'), ('KZ'), ('LA'), ('LB'), ('LC'), ('LI'), ('LK'), ('LR'), ('LS'), ('LT'), ('LU'), ('LV'), ('LY'), ('MA'), ('MC'), ('MD'), ('ME'), ('MF'), ('MG'), ('MH'), ('MK'), ('ML'), ('MM'), ('MN'), ('MO'), ('MP'), ('MQ'), ('MR'), ('MS'), ('MT'), ('MU'), ('MV'), ('MW'), ('MX'), ('MY'), ('MZ'), ('NA'), ('NC'), ('NE'), ('NF'), ('NG'), ('NI'), ('NL'), ('NO'), ('NP'), ('NR'), ('NU'), ('NZ'), ('OM'), ('PA'), ('PE'), ('PF'), ('PG'), ('PH'), ('PK'), ('PL'), ('PM'), ('PN'), ('PR'), ('PS'), ('PT'), ('PW'), ('PY'), ('QA'), ('RE'), ('RO'), ('RS'), ('RU'), ('RW'), ('SA'), ('SB'), ('SC'), ('SD'), ('SE'), ('SG'), ('SH'), ('SI'), ('SJ'), ('SK'), ('SL'), ('SM'), ('SN'), ('SO'), ('SR'), ('SS'), ('ST'), ('SV'), ('SX'), ('SY'), ('SZ'), ('TC'), ('TD'), ('TF'), ('TG'), ('TH'), ('TJ'), ('TK'), ('TL'), ('TM'), ('TN'), ('TO'), ('TR'), ('TT'), ('TV'), ('TW'), ('TZ'), ('UA'), ('UG'), ('UM'), ('US'), ('UY'), ('UZ'), ('VA'), ('VC'), ('VE'), ('VG'), ('VI'), ('VN'), ('VU'), ('WF'), ('WS'), ('YE'), ('YT'), ('ZA'), ('ZM'), ('ZW');

create table app.users (
  id            uuid primary key default gen_random_uuid(),
  pseudo        text not null check (char_length(pseudo) between 2 and 32 and pseudo !~ '@' and pseudo = btrim(pseudo)),
  email         text not null check (email = lower(email) and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  country       char(2) not null references app.countries,
  password_hash text not null check (password_hash like '$argon2id$%'),
  created_at    timestamptz not null default now()
);
create unique index users_pseudo_lower_key on app.users (lower(pseudo));
create unique index users_email_key on app.users (email);

/*
 * Failed logins, counted per key (an identifier or a client address) in a fixed window. Rows are
 * tiny and short-lived; a successful login clears its identifier's row.
 */
create table app.login_failures (
  key          text primary key,
  failures     integer not null,
  window_start timestamptz not null
);

/*
 * The matching pool: one row per waiting user. A row is live while expires_at is in the future
 * and the user either never had a notification socket (disconnected_at is null) or lost the last
 * one less than 30 seconds ago.
 */
create table app.pool_entries (
  user_id         uuid primary key references app.users on delete cascade,
  country         char(2) not null,
  same_country    boolean not null,
  joined_at       timestamptz not null default clock_timestamp(),
  expires_at      timestamptz not null,
  disconnected_at timestamptz
);
create index pool_entries_joined_at_idx on app.pool_entries (joined_at);

/*
 * A private room between two users. Side a is the user who was waiting, side b the joiner.
 * Each side has its own private name, a per-room alias (what the partner sees instead of the
 * account id), a read high-water mark (the partner's seq it has read up to) and an unread counter
 * kept in step with that mark, so badges never need a count over the messages.
 * last_seq is allocated under this row's lock: messages of a room are numbered 1, 2, 3, … with no gap.
 */
create table app.rooms (
  id               uuid primary key default gen_random_uuid(),
  user_a           uuid not null references app.users on delete cascade,
  user_b           uuid not null references app.users on delete cascade,
  country_a        char(2) not null,
  country_b        char(2) not null,
  user_a_room_name text not null default 'Stranger' check (char_length(user_a_room_name) between 1 and 64),
  user_b_room_name text not null default 'Stranger' check (char_length(user_b_room_name) between 1 and 64),
  alias_a          uuid not null default gen_random_uuid(),
  alias_b          uuid not null default gen_random_uuid(),
  created_at       timestamptz not null default now(),
  expires_at       timestamptz not null,
  closed_at        timestamptz,
  closed_reason    text check (closed_reason in ('closed', 'expired')),
  last_seq         bigint not null default 0,
  read_seq_a       bigint not null default 0,
  read_seq_b       bigint not null default 0,
  read_at_a        timestamptz,
  read_at_b        timestamptz,
  unread_a         integer not null default 0 check (unread_a >= 0),
  unread_b         integer not null default 0 check (unread_b >= 0),
  check (user_a <> user_b),
  check ((closed_at is null) = (closed_reason is null))
);
-- "my open rooms" and "do these two share an open room" (expiry is checked on the few rows found)
create index rooms_open_user_a_idx on app.rooms (user_a, created_at desc) where closed_at is null;
create index rooms_open_user_b_idx on app.rooms (user_b, created_at desc) where closed_at is null;
-- the expiry sweep
create index rooms_open_expires_at_idx on app.rooms (expires_at) where closed_at is null;

/*
 * Messages exist only while their room is open: closing or expiring a room deletes them.
 * (room_id, seq) is the natural key; id is what clients name a message by.
 */
create table app.messages (
  room_id   uuid not null references app.rooms on delete cascade,
  seq       bigint not null check (seq > 0),
  id        uuid not null default gen_random_uuid(),
  sender_id uuid not null references app.users on delete cascade,
  content   text not null check (char_length(content) between 1 and 4000),
  client_id text check (char_length(client_id) between 1 and 64),
  sent_at   timestamptz not null default now(),
  primary key (room_id, seq),
  unique (id)
);
-- idempotent sends: one message per (room, sender, client_id)
create unique index messages_client_id_key on app.messages (room_id, sender_id, client_id)
  where client_id is not null;

-- One reaction per user per message; deleted with the message.
create table app.reactions (
  message_id uuid not null references app.messages (id) on delete cascade,
  user_id    uuid not null references app.users on delete cascade,
  emoji      text not null check (char_length(emoji) between 1 and 32),
  created_at timestamptz not null default now(),
  primary key (message_id, user_id)
);

/*
 * Who has a notification socket open, per gateway process. A process refreshes heartbeat_at while
 * it lives; rows of a process whose heartbeat is stale are ignored and swept, so a crashed process
 * never keeps users "online".
 */
create table app.gateways (
  id           uuid primary key,
  started_at   timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);
create table app.presence (
  gateway_id uuid not null references app.gateways on delete cascade,
  user_id    uuid not null references app.users on delete cascade,
  primary key (gateway_id, user_id)
);
create index presence_user_id_idx on app.presence (user_id);

-- migrate:down

drop schema app cascade;
