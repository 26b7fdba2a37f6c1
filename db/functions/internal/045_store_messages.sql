/*
 * The message half of the send path (api.post_events): stores a batch's new messages and announces
 * them, in one statement. The caller holds the lock of every room the batch writes to.
 *
 * Each room's new messages get the next seqs in input order. A (room, sender, client_id) already
 * stored is acknowledged again with its first id, seq and sent_at; the same client_id twice in
 * p_events is a unique violation (messages_client_id_key) that the caller resolves.
 *
 * Per message the statement pays one pass over the input, one room and one idempotency index
 * probe, one row and its three index entries, one shared window pass, and its share of a NOTIFY
 * and of the room's counter update (once per room per batch). Every CTE that is read twice is
 * materialized once, so no expression (the Unicode trim, a random id) runs twice for a row.
 *
 * Envelopes are built as JSON text and sent many per NOTIFY, in (room, seq) order, cut where the
 * running size crosses a multiple of 4,500 bytes. A message whose JSON content exceeds 3,000 bytes
 * travels without it (content_omitted; the gateway reads it from the table), so one envelope stays
 * under 4,000 bytes and one NOTIFY under 8,000 (PostgreSQL's limit): at most 4,500 bytes of
 * envelopes before its last one begins, plus that last one.
 */
create function internal.store_messages(p_events jsonb)
returns jsonb
language plpgsql volatile
as $$
declare
  v_sent_at text := internal.iso_time(now());
  v_results jsonb;
begin
  with input as materialized (
    select x.i, x.room, x."user", x.client_id, x.origin, t.content, char_length(t.content) as content_length
    from jsonb_to_recordset(p_events) as x(i integer, kind text, room uuid, "user" uuid,
                                           content text, client_id text, origin text)
    cross join lateral (select internal.trim_text(x.content) as content) t
    where x.kind = 'message'
  ),
  checked as (
    select i.*, r.user_a, r.user_b, r.alias_a, r.alias_b, r.last_seq, r.unread_a, r.unread_b,
           internal.room_side(r, i."user") as side,
           old.id as old_id, old.seq as old_seq, old.sent_at as old_sent_at,
           case
             when internal.room_side(r, i."user") is null then 'room_not_found'
             when not internal.room_is_open(r) then 'room_closed'
             when i.content_length is null or i.content_length not between 1 and 4000 then 'invalid_content'
             when char_length(i.client_id) not between 1 and 64 then 'invalid_client_id'
           end as error_code
    from input i
    left join app.rooms r on r.id = i.room
    left join app.messages old
           on old.room_id = i.room and old.sender_id = i."user" and old.client_id = i.client_id
  ),
  planned as materialized (
    -- one window: how many new messages of the room, and of each side, up to this one
    select c.*,
           case when c.is_new then gen_random_uuid() end as new_id,
           c.last_seq + count(*) filter (where c.is_new) over w as seq,
           -- the recipient's badge once this message is stored
           case c.side
             when 'a' then c.unread_b + count(*) filter (where c.is_new and c.side = 'a') over w
             else c.unread_a + count(*) filter (where c.is_new and c.side = 'b') over w
           end as recipient_unread
    from (select c.*, c.error_code is null and c.old_id is null as is_new from checked c) c
    window w as (partition by c.room order by c.i)
  ),
  inserted as (
    insert into app.messages (room_id, seq, id, sender_id, content, client_id, sent_at)
    select p.room, p.seq, p.new_id, p."user", p.content, p.client_id, now()
    from planned p
    where p.is_new
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
            from planned p
            where p.is_new
            group by p.room) b
     where r.id = b.room
  ),
  envelopes as (
    select p.room, p.seq,
           '{"room":"' || p.room || '","users":["' || p.user_a || '","' || p.user_b
           || '"],"seq":' || p.seq || ',"id":"' || p.new_id || '","side":"' || p.side
           || '","sender":"' || p."user"
           || '","alias":"' || case p.side when 'a' then p.alias_a else p.alias_b end
           || '","recipient":"' || case p.side when 'a' then p.user_b else p.user_a end
           || '","content":' || case when octet_length(j.content) <= 3000 then j.content
                                     else 'null,"content_omitted":true' end
           || ',"client_id":' || coalesce(to_json(p.client_id)::text, 'null')
           || ',"sent_at":"' || v_sent_at
           || '","unread_count":' || p.recipient_unread
           || ',"origin":' || coalesce(to_json(p.origin)::text, 'null') || '}' as body
    from planned p
    cross join lateral (select to_json(p.content)::text as content) j
    where p.is_new
  ),
  chunked as (
    select e.room, e.seq, e.body,
           (sum(octet_length(e.body) + 1) over (order by e.room, e.seq) - octet_length(e.body) - 1) / 4500 as chunk
    from envelopes e
  ),
  announced as (
    select count(pg_notify('chat_events', c.payload)) as notifies
    from (select '{"v":1,"type":"messages.created","messages":['
                 || string_agg(k.body, ',' order by k.room, k.seq) || ']}' as payload
          from chunked k
          group by k.chunk
          order by k.chunk) c
  )
  select coalesce(jsonb_agg(
           case
             when p.error_code is not null then jsonb_build_object('i', p.i, 'ok', false, 'code', p.error_code)
             when p.is_new then jsonb_build_object('i', p.i, 'ok', true, 'id', p.new_id, 'seq', p.seq,
                                                   'sent_at', v_sent_at, 'client_id', p.client_id)
             else jsonb_build_object('i', p.i, 'ok', true, 'id', p.old_id, 'seq', p.old_seq,
                                     'sent_at', internal.iso_time(p.old_sent_at), 'client_id', p.client_id)
           end), '[]')
    into v_results
  from planned p
  cross join announced; -- a CTE runs only when read: this reads it
  return v_results;
end
$$;
comment on function internal.store_messages(jsonb) is 'Stores and announces a batch''s new messages (rooms locked by the caller); a post_events result per message event.';
