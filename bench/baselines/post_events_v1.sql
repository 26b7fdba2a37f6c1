/*
 * Bench baseline "v1": the send function as it was at commit 049c1cc (db/functions/api/post_events.sql)
 * with copies of the internal helpers it calls, all in schema bench_v1, so that later changes to
 * internal.* never change what "v1" measures. Same signature and results as api.post_events.
 * Installed by the bench into its own database only (bench/lib/send-function.ts); never part of db/.
 * Only the schema names differ from the originals (internal.* -> bench_v1.*).
 */
drop schema if exists bench_v1 cascade;
create schema bench_v1;
revoke all on schema bench_v1 from public;

create function bench_v1.iso_time(p_time timestamptz)
returns text
language sql immutable parallel safe
as $$
  select to_char(p_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
comment on function bench_v1.iso_time(timestamptz) is 'RFC 3339 UTC timestamp with milliseconds, as every API response writes it.';

create function bench_v1.trim_text(p_text text)
returns text
language sql immutable parallel safe
as $$
  select btrim(p_text, E' \t\n\u000b\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff')
$$;
comment on function bench_v1.trim_text(text) is 'Trims Unicode white space (the set JavaScript''s trim() removes) at both ends.';

create function bench_v1.notify(p_type text, p_room uuid, p_users uuid[], p_payload jsonb default '{}')
returns void
language sql volatile
as $$
  select pg_notify(
    'chat_events',
    (jsonb_build_object('v', 1, 'type', p_type, 'room', p_room, 'users', to_jsonb(p_users)) || p_payload)::text
  )
$$;
comment on function bench_v1.notify(text, uuid, uuid[], jsonb) is 'Sends one event envelope on the chat_events channel.';

create function bench_v1.notify_messages(p_messages jsonb)
returns void
language plpgsql volatile
as $$
declare
  v_limit constant integer := 7000;
  v_message jsonb;
  v_size integer;
  v_chunk text[] := '{}';
  v_chunk_size integer := 0;
begin
  for v_message in select e from jsonb_array_elements(p_messages) e loop
    v_size := octet_length(v_message::text);
    if v_size > v_limit then
      v_message := v_message || '{"content": null, "content_omitted": true}';
      v_size := octet_length(v_message::text);
    end if;
    if v_chunk_size + v_size > v_limit then
      perform pg_notify('chat_events', '{"v":1,"type":"messages.created","messages":[' || array_to_string(v_chunk, ',') || ']}');
      v_chunk := '{}';
      v_chunk_size := 0;
    end if;
    v_chunk := v_chunk || v_message::text;
    v_chunk_size := v_chunk_size + v_size + 1;
  end loop;
  if v_chunk_size > 0 then
    perform pg_notify('chat_events', '{"v":1,"type":"messages.created","messages":[' || array_to_string(v_chunk, ',') || ']}');
  end if;
end
$$;
comment on function bench_v1.notify_messages(jsonb) is 'Sends stored messages as messages.created envelopes of at most ~7000 bytes each.';

create function bench_v1.room_is_open(p_room app.rooms)
returns boolean
language sql stable
as $$
  select p_room.closed_at is null and p_room.expires_at > now()
$$;
comment on function bench_v1.room_is_open(app.rooms) is 'True while the room is neither closed nor past expires_at.';

create function bench_v1.room_side(p_room app.rooms, p_user uuid)
returns text
language sql immutable
as $$
  select case p_user when p_room.user_a then 'a' when p_room.user_b then 'b' end
$$;
comment on function bench_v1.room_side(app.rooms, uuid) is 'a, b, or null when the user is not a member.';

create function bench_v1.mark_read(p_i integer, p_user uuid, p_room_id uuid, p_message_id uuid)
returns jsonb
language plpgsql volatile
as $$
declare
  v_room app.rooms;
  v_side text;
  v_seq bigint;
  v_read_at timestamptz := now();
begin
  select * into v_room from app.rooms where id = p_room_id;
  v_side := bench_v1.room_side(v_room, p_user);
  if v_side is null then
    return jsonb_build_object('i', p_i, 'ok', false, 'code', 'room_not_found');
  elsif not bench_v1.room_is_open(v_room) then
    return jsonb_build_object('i', p_i, 'ok', false, 'code', 'room_closed');
  end if;

  select m.seq into v_seq
  from app.messages m
  where m.id = p_message_id and m.room_id = p_room_id and m.sender_id <> p_user;
  if not found then
    return jsonb_build_object('i', p_i, 'ok', false, 'code', 'message_not_found');
  end if;

  if v_seq <= (case v_side when 'a' then v_room.read_seq_a else v_room.read_seq_b end) then
    return jsonb_build_object('i', p_i, 'ok', true, 'moved', false);
  end if;

  update app.rooms r
     set read_seq_a = case v_side when 'a' then v_seq else r.read_seq_a end,
         read_at_a  = case v_side when 'a' then v_read_at else r.read_at_a end,
         unread_a   = case v_side when 'a' then u.unread else r.unread_a end,
         read_seq_b = case v_side when 'b' then v_seq else r.read_seq_b end,
         read_at_b  = case v_side when 'b' then v_read_at else r.read_at_b end,
         unread_b   = case v_side when 'b' then u.unread else r.unread_b end
    from (select count(*)::integer as unread
          from app.messages m
          where m.room_id = p_room_id and m.seq > v_seq and m.sender_id <> p_user) u
   where r.id = p_room_id;

  perform bench_v1.notify('read.moved', v_room.id, array[v_room.user_a, v_room.user_b],
    jsonb_build_object('side', v_side, 'reader', p_user, 'id', p_message_id, 'seq', v_seq,
                       'read_at', bench_v1.iso_time(v_read_at)));
  return jsonb_build_object('i', p_i, 'ok', true, 'moved', true);
end
$$;
comment on function bench_v1.mark_read(integer, uuid, uuid, uuid) is 'Moves a read high-water mark forward and recounts the badge; a post_events result.';

/*
 * The send path: one call, one transaction, for everything the gateway's room sockets produced
 * during one flush tick (docs/architecture.md, "Why the send path batches": a notifying commit is the scarce resource).
 *
 * Input: a JSON array of events, each {"i": n, "kind": "message"|"typing"|"read", "room", "user",
 * "origin"} plus "content" and "client_id" for messages and "message_id" for reads.
 * Output: a JSON array with one result per input event, {"i": n, "ok": true, ...} or
 * {"i": n, "ok": false, "code": "..."}; one bad event never fails the others.
 *
 * Messages: each room's new messages get the next seqs under the room row's lock, in input
 * order. A (room, sender, client_id) already stored is acknowledged again with its first id.
 * Reads: move the reader's high-water mark forward (never back) and recount their badge.
 * Typing: relayed, never stored.
 */
create function bench_v1.post_events(p_events jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app, bench_v1
as $$
declare
  v_message_results jsonb;
  v_envelopes jsonb;
  v_read_results jsonb := '[]'::jsonb;
  v_typing_results jsonb;
  v_event jsonb;
begin
  -- Lock every room the batch writes to, in id order, so concurrent batches never deadlock and
  -- the statements below see every message committed before the lock was granted.
  perform 1
  from app.rooms r
  where r.id in (select (e->>'room')::uuid from jsonb_array_elements(p_events) e where e->>'kind' <> 'typing')
  order by r.id
  for update;

  -- Every step below is one pass over the batch's rows (window functions, no join between
  -- CTEs: those become nested loops over unindexed row sets, quadratic in the batch size).
  with input as (
    select x.i, x.room, x."user", bench_v1.trim_text(x.content) as content, x.client_id, x.origin
    from jsonb_to_recordset(p_events) as x(i integer, kind text, room uuid, "user" uuid,
                                           content text, client_id text, origin text)
    where x.kind = 'message'
  ),
  verdicts as (
    select i.*, r.user_a, r.user_b, r.last_seq, r.unread_a, r.unread_b,
           bench_v1.room_side(r, i."user") as side,
           case bench_v1.room_side(r, i."user") when 'a' then r.alias_a else r.alias_b end as alias,
           old.id as old_id, old.seq as old_seq, old.sent_at as old_sent_at,
           case
             when bench_v1.room_side(r, i."user") is null then 'room_not_found'
             when not bench_v1.room_is_open(r) then 'room_closed'
             when i.content is null or char_length(i.content) not between 1 and 4000 then 'invalid_content'
             when char_length(i.client_id) not between 1 and 64 then 'invalid_client_id'
           end as error_code
    from input i
    left join app.rooms r on r.id = i.room
    left join app.messages old
           on old.room_id = i.room and old.sender_id = i."user" and old.client_id = i.client_id
  ),
  ranked as (
    -- the same client_id twice in one batch: only the first valid copy is stored
    select v.*,
           v.error_code is null and v.old_id is null
             and (v.client_id is null
                  or row_number() over (partition by v.room, v."user", v.client_id, v.error_code is null order by v.i) = 1)
             as is_new
    from verdicts v
  ),
  planned as (
    select k.*,
           case when k.is_new then gen_random_uuid() end as new_id,
           case when k.is_new then k.last_seq + row_number() over (partition by k.room, k.is_new order by k.i) end as seq,
           -- the recipient's badge once this message is stored
           case when k.is_new then
             case k.side when 'a' then k.unread_b else k.unread_a end
               + row_number() over (partition by k.room, k.side, k.is_new order by k.i)
           end as recipient_unread
    from ranked k
  ),
  resolved as (
    -- a later copy of a client_id takes the id and seq its first copy gets in this batch
    select p.*,
           coalesce(p.new_id, p.old_id, first_value(p.new_id) over copies) as result_id,
           coalesce(p.seq, p.old_seq, first_value(p.seq) over copies) as result_seq
    from planned p
    window copies as (partition by p.room, p."user", p.client_id, p.error_code is null order by p.i)
  ),
  inserted as (
    insert into app.messages (room_id, seq, id, sender_id, content, client_id, sent_at)
    select p.room, p.seq, p.new_id, p."user", p.content, p.client_id, now()
    from planned p where p.is_new
  ),
  bumped as (
    update app.rooms r
       set last_seq = r.last_seq + b.added,
           unread_a = r.unread_a + b.to_a,
           unread_b = r.unread_b + b.to_b
      from (select p.room,
                   count(*) as added,
                   count(*) filter (where p.side = 'b') as to_a,
                   count(*) filter (where p.side = 'a') as to_b
            from planned p where p.is_new group by p.room) b
     where r.id = b.room
  )
  select
    coalesce(jsonb_agg(
      case
        when r.error_code is not null then jsonb_build_object('i', r.i, 'ok', false, 'code', r.error_code)
        else jsonb_build_object('i', r.i, 'ok', true, 'id', r.result_id, 'seq', r.result_seq,
                                'sent_at', bench_v1.iso_time(coalesce(r.old_sent_at, now())),
                                'client_id', r.client_id)
      end order by r.i), '[]'::jsonb),
    coalesce(jsonb_agg(jsonb_build_object(
      'room', r.room, 'users', jsonb_build_array(r.user_a, r.user_b),
      'seq', r.seq, 'id', r.new_id, 'side', r.side, 'sender', r."user", 'alias', r.alias,
      'recipient', case r.side when 'a' then r.user_b else r.user_a end,
      'content', r.content, 'client_id', r.client_id, 'sent_at', bench_v1.iso_time(now()),
      'unread_count', r.recipient_unread, 'origin', r.origin) order by r.room, r.seq)
      filter (where r.is_new), '[]'::jsonb)
    into v_message_results, v_envelopes
  from resolved r;

  perform bench_v1.notify_messages(v_envelopes);

  -- Reads, in input order and after this batch's messages (a read may name one of them).
  for v_event in
    select e from jsonb_array_elements(p_events) e where e->>'kind' = 'read' order by (e->>'i')::integer
  loop
    v_read_results := v_read_results || bench_v1.mark_read(
      (v_event->>'i')::integer, (v_event->>'user')::uuid, (v_event->>'room')::uuid,
      (v_event->>'message_id')::uuid);
  end loop;

  -- Typing: relayed to the partner while the room is open; never stored.
  with typing as (
    select t.i, r.id as room_id, r.user_a, r.user_b,
           case
             when bench_v1.room_side(r, t."user") is null then 'room_not_found'
             when not bench_v1.room_is_open(r) then 'room_closed'
           end as error_code,
           bench_v1.room_side(r, t."user") as side
    from jsonb_to_recordset(p_events) as t(i integer, kind text, room uuid, "user" uuid)
    left join app.rooms r on r.id = t.room
    where t.kind = 'typing'
  ),
  relayed as (
    select count(bench_v1.notify('typing', room_id, array[user_a, user_b], jsonb_build_object('side', side)))
    from typing where error_code is null
  )
  select coalesce(jsonb_agg(case when error_code is null
                                 then jsonb_build_object('i', i, 'ok', true)
                                 else jsonb_build_object('i', i, 'ok', false, 'code', error_code) end), '[]'::jsonb)
    into v_typing_results
  from typing, relayed;

  return v_message_results || v_read_results || v_typing_results;
end
$$;
comment on function bench_v1.post_events(jsonb) is 'One flush of the send path: messages, reads and typing of many sockets in one transaction; a result per event.';

-- Functions are executable by PUBLIC when created: only the gateway may call the send function
-- (it runs as its owner, so the helpers need no grant).
revoke execute on all functions in schema bench_v1 from public;
grant execute on function bench_v1.post_events(jsonb) to chat_gateway;
