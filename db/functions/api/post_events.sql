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

  -- Every step below is one pass over the batch's rows (window functions, no join between
  -- CTEs: those become nested loops over unindexed row sets, quadratic in the batch size).
  with input as (
    select x.i, x.room, x."user", internal.trim_text(x.content) as content, x.client_id, x.origin
    from jsonb_to_recordset(p_events) as x(i integer, kind text, room uuid, "user" uuid,
                                           content text, client_id text, origin text)
    where x.kind = 'message'
  ),
  verdicts as (
    select i.*, r.user_a, r.user_b, r.last_seq, r.unread_a, r.unread_b,
           internal.room_side(r, i."user") as side,
           case internal.room_side(r, i."user") when 'a' then r.alias_a else r.alias_b end as alias,
           old.id as old_id, old.seq as old_seq, old.sent_at as old_sent_at,
           case
             when internal.room_side(r, i."user") is null then 'room_not_found'
             when not internal.room_is_open(r) then 'room_closed'
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
                                'sent_at', internal.iso_time(coalesce(r.old_sent_at, now())),
                                'client_id', r.client_id)
      end order by r.i), '[]'::jsonb),
    coalesce(jsonb_agg(jsonb_build_object(
      'room', r.room, 'users', jsonb_build_array(r.user_a, r.user_b),
      'seq', r.seq, 'id', r.new_id, 'side', r.side, 'sender', r."user", 'alias', r.alias,
      'recipient', case r.side when 'a' then r.user_b else r.user_a end,
      'content', r.content, 'client_id', r.client_id, 'sent_at', internal.iso_time(now()),
      'unread_count', r.recipient_unread, 'origin', r.origin) order by r.room, r.seq)
      filter (where r.is_new), '[]'::jsonb)
    into v_message_results, v_envelopes
  from resolved r;

  perform internal.notify_messages(v_envelopes);

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
