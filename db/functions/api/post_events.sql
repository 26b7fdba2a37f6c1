/*
 * The send path: one call, one transaction, for everything the gateway's room sockets produced
 * during one flush tick (see DESIGN.md: a notifying commit is the scarce resource, so batch).
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
create function api.post_events(p_events jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
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

  with input as (
    select x.i, x.room, x."user", btrim(x.content) as content, x.client_id, x.origin
    from jsonb_to_recordset(p_events) as x(i integer, kind text, room uuid, "user" uuid,
                                           content text, client_id text, origin text)
    where x.kind = 'message'
  ),
  verdicts as (
    select i.*,
           internal.room_side(r, i."user") as side,
           old.id as old_id, old.seq as old_seq, old.sent_at as old_sent_at,
           case
             when internal.room_side(r, i."user") is null then 'room_not_found'
             when not internal.room_is_open(r) then 'room_closed'
             when char_length(i.content) not between 1 and 4000 then 'invalid_content'
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
           row_number() over (partition by v.room, v."user", v.client_id, v.error_code is null
                              order by v.i) as copy_no
    from verdicts v
  ),
  numbered as (
    select k.*,
           r.last_seq + row_number() over (partition by k.room order by k.i) as seq,
           r.user_a, r.user_b,
           case k.side when 'a' then r.alias_a else r.alias_b end as alias,
           -- the recipient's badge once this message is stored
           case k.side when 'a' then r.unread_b else r.unread_a end
             + row_number() over (partition by k.room, k.side order by k.i) as recipient_unread
    from ranked k
    join app.rooms r on r.id = k.room
    where k.error_code is null and k.old_id is null and (k.client_id is null or k.copy_no = 1)
  ),
  inserted as (
    insert into app.messages (room_id, seq, sender_id, content, client_id)
    select n.room, n.seq, n."user", n.content, n.client_id from numbered n
    returning room_id, seq, id, sent_at
  ),
  bumped as (
    update app.rooms r
       set last_seq = r.last_seq + b.added,
           unread_a = r.unread_a + b.to_a,
           unread_b = r.unread_b + b.to_b
      from (select n.room,
                   count(*) as added,
                   count(*) filter (where n.side = 'b') as to_a,
                   count(*) filter (where n.side = 'a') as to_b
            from numbered n group by n.room) b
     where r.id = b.room
  ),
  stored as (
    select n.*, ins.id, ins.sent_at
    from numbered n
    join inserted ins on ins.room_id = n.room and ins.seq = n.seq
  )
  select
    (select coalesce(jsonb_agg(
              case
                when k.error_code is not null then
                  jsonb_build_object('i', k.i, 'ok', false, 'code', k.error_code)
                else
                  jsonb_build_object('i', k.i, 'ok', true,
                    'id', coalesce(s.id, k.old_id, first.id),
                    'seq', coalesce(s.seq, k.old_seq, first.seq),
                    'sent_at', internal.iso_time(coalesce(s.sent_at, k.old_sent_at, first.sent_at)),
                    'client_id', k.client_id)
              end order by k.i), '[]'::jsonb)
     from ranked k
     left join stored s on s.i = k.i
     left join stored first              -- a later copy of a client_id first stored in this batch
            on k.old_id is null and k.copy_no > 1 and k.error_code is null
           and first.room = k.room and first."user" = k."user" and first.client_id = k.client_id),
    (select coalesce(jsonb_agg(jsonb_build_object(
              'room', s.room, 'users', jsonb_build_array(s.user_a, s.user_b),
              'seq', s.seq, 'id', s.id, 'side', s.side, 'sender', s."user", 'alias', s.alias,
              'recipient', case s.side when 'a' then s.user_b else s.user_a end,
              'content', s.content, 'client_id', s.client_id, 'sent_at', internal.iso_time(s.sent_at),
              'unread_count', s.recipient_unread, 'origin', s.origin) order by s.room, s.seq), '[]'::jsonb)
     from stored s)
    into v_message_results, v_envelopes;

  -- One envelope per stored message, in seq order per room. A content too large for NOTIFY's
  -- 8000 bytes is left out; the gateway reads that row from the table instead.
  perform internal.notify('message.created', (e->>'room')::uuid, array[(e->'users'->>0)::uuid, (e->'users'->>1)::uuid],
                          case when octet_length(e::text) > 7000
                               then e || '{"content": null, "content_omitted": true}'::jsonb
                               else e end - 'room' - 'users')
  from jsonb_array_elements(v_envelopes) e;

  -- Reads, in input order and after this batch's messages (a read may name one of them).
  for v_event in
    select e from jsonb_array_elements(p_events) e where e->>'kind' = 'read' order by (e->>'i')::integer
  loop
    v_read_results := v_read_results || internal.mark_read(
      (v_event->>'i')::integer, (v_event->>'user')::uuid, (v_event->>'room')::uuid,
      (v_event->>'message_id')::uuid);
  end loop;

  -- Typing: relayed to the partner while the room is open; never stored.
  with typing as (
    select t.i, r.id as room_id, r.user_a, r.user_b,
           case
             when internal.room_side(r, t."user") is null then 'room_not_found'
             when not internal.room_is_open(r) then 'room_closed'
           end as error_code,
           internal.room_side(r, t."user") as side
    from jsonb_to_recordset(p_events) as t(i integer, kind text, room uuid, "user" uuid)
    left join app.rooms r on r.id = t.room
    where t.kind = 'typing'
  ),
  relayed as (
    select count(internal.notify('typing', room_id, array[user_a, user_b], jsonb_build_object('side', side)))
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
comment on function api.post_events(jsonb) is 'One flush of the send path: messages, reads and typing of many sockets in one transaction; a result per event.';
