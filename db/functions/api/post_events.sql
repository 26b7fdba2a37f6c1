/*
 * The send path: one call, one transaction, for everything the gateway's room sockets produced
 * during one flush tick (docs/architecture.md, "Why the send path batches": a notifying commit is the scarce resource).
 *
 * Input: a JSON array of events, each {"i": n, "kind": "message"|"typing"|"read", "room", "user",
 * "origin"} plus "content" and "client_id" for messages and "message_id" for reads.
 * Output: a JSON array with one result per input event, {"i": n, "ok": true, ...} or
 * {"i": n, "ok": false, "code": "..."}; one bad event never fails the others.
 *
 * Messages (internal.store_messages): each room's new messages get the next seqs under the room
 * row's lock, in input order. A (room, sender, client_id) already stored, or sent earlier in the
 * same batch, is acknowledged again with its first id.
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
  v_read_results jsonb := '[]'::jsonb;
  v_typing_results jsonb := '[]'::jsonb;
  v_event jsonb;
  v_constraint text;
  v_first_copies jsonb;
  v_later_copies jsonb;
begin
  -- Lock every room the batch writes to, in id order, so concurrent batches never deadlock and
  -- the statements below see every message committed before the lock was granted. An array,
  -- not `in (select …)`: the planner cannot count a JSON array's elements and would read the
  -- whole rooms table by a hash join rather than probe its index once per room.
  perform 1
  from app.rooms r
  where r.id = any (array(select (e->>'room')::uuid from jsonb_array_elements(p_events) e where e->>'kind' <> 'typing'))
  order by r.id
  for update;

  begin
    v_message_results := internal.store_messages(p_events);
  exception when unique_violation then
    -- Rare, so it is not looked for up front: a client_id twice in this batch. Its first copy is
    -- stored; the later copies, sent again as a batch of their own, find it and get its result.
    get stacked diagnostics v_constraint = constraint_name;
    if v_constraint is distinct from 'messages_client_id_key' then
      raise;
    end if;
    select coalesce(jsonb_agg(c.event) filter (where c.copy = 1), '[]'),
           coalesce(jsonb_agg(c.event) filter (where c.copy > 1), '[]')
      into v_first_copies, v_later_copies
    from (select e as event,
                 case when e->>'client_id' is null then 1
                      else row_number() over (partition by e->>'room', e->>'user', e->>'client_id'
                                              order by (e->>'i')::integer)
                 end as copy
          from jsonb_array_elements(p_events) e
          where e->>'kind' = 'message') c;
    v_message_results := internal.store_messages(v_first_copies) || api.post_events(v_later_copies);
  end;

  -- Reads, in input order and after this batch's messages (a read may name one of them).
  -- The containment tests skip a pass over the batch when it has none (most have none).
  if p_events @> '[{"kind": "read"}]' then
    for v_event in
      select e from jsonb_array_elements(p_events) e where e->>'kind' = 'read' order by (e->>'i')::integer
    loop
      v_read_results := v_read_results || internal.mark_read(
        (v_event->>'i')::integer, (v_event->>'user')::uuid, (v_event->>'room')::uuid,
        (v_event->>'message_id')::uuid);
    end loop;
  end if;

  -- Typing: relayed to the partner while the room is open; never stored.
  if p_events @> '[{"kind": "typing"}]' then
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
  end if;

  return v_message_results || v_read_results || v_typing_results;
end
$$;
comment on function api.post_events(jsonb) is 'One flush of the send path: messages, reads and typing of many sockets in one transaction; a result per event.';
