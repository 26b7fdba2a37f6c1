-- Scratch tables for the pgbench scripts (the database ceiling of bench/README.md). Run in database bench_ceiling.
create table msg(id uuid primary key default gen_random_uuid(), room uuid not null, sender int not null,
  content text not null, created_at timestamptz not null default now());
create index on msg(room, created_at);
create function msg_notify() returns trigger language plpgsql as $$ begin
  perform pg_notify('room_'||new.room, json_build_object('id',new.id,'content',new.content)::text);
  return null; end $$;
create trigger t after insert on msg for each row execute function msg_notify();
create table msg2 (like msg including all);
create table msg3 (like msg including all);
create function msg3_notify() returns trigger language plpgsql as $$ begin
  perform pg_notify('msgs', (select json_agg(json_build_object('id',id,'room',room))::text from new_rows));
  return null; end $$;
create trigger t3 after insert on msg3 referencing new table as new_rows for each statement
  execute function msg3_notify();
