/*
 * Bench baseline "naive": the best one-commit-per-message design, a send function written for ONE
 * message (no jsonb_to_recordset, no CTE chain): lock the room row, check membership, open room and
 * content, look the (room, sender, client_id) up, insert, bump last_seq and the recipient's unread
 * counter, and send one messages.created envelope (exactly the one the gateway reads, one message
 * in it). Results and envelope are those of api.post_events for a one-message batch.
 * Installed by the bench into its own database only (bench/lib/send-function.ts); never part of db/.
 */
drop schema if exists bench_naive cascade;
create schema bench_naive;
revoke all on schema bench_naive from public;

create function bench_naive.post_message(p_room uuid, p_user uuid, p_content text, p_client_id text, p_origin text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app
as $$
declare
  -- the product's trimming rule (internal.trim_text), inlined
  v_content text := btrim(p_content, E' \t\n\u000b\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff');
  v_room app.rooms;
  v_side text;
  v_old_id uuid;
  v_old_seq bigint;
  v_old_sent_at timestamptz;
  v_id uuid := gen_random_uuid();
  v_seq bigint;
  v_unread integer;
  v_sent_at text := to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  v_message jsonb;
begin
  select * into v_room from app.rooms where id = p_room for update;
  v_side := case p_user when v_room.user_a then 'a' when v_room.user_b then 'b' end;
  if v_side is null then
    return jsonb_build_object('ok', false, 'code', 'room_not_found');
  elsif v_room.closed_at is not null or v_room.expires_at <= now() then
    return jsonb_build_object('ok', false, 'code', 'room_closed');
  elsif v_content is null or char_length(v_content) not between 1 and 4000 then
    return jsonb_build_object('ok', false, 'code', 'invalid_content');
  elsif char_length(p_client_id) not between 1 and 64 then
    return jsonb_build_object('ok', false, 'code', 'invalid_client_id');
  end if;

  if p_client_id is not null then
    select m.id, m.seq, m.sent_at into v_old_id, v_old_seq, v_old_sent_at
    from app.messages m
    where m.room_id = p_room and m.sender_id = p_user and m.client_id = p_client_id;
    if found then
      return jsonb_build_object('ok', true, 'id', v_old_id, 'seq', v_old_seq,
        'sent_at', to_char(v_old_sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'client_id', p_client_id);
    end if;
  end if;

  v_seq := v_room.last_seq + 1;
  insert into app.messages (room_id, seq, id, sender_id, content, client_id, sent_at)
  values (p_room, v_seq, v_id, p_user, v_content, p_client_id, now());
  update app.rooms r
     set last_seq = v_seq,
         unread_a = r.unread_a + case v_side when 'b' then 1 else 0 end,
         unread_b = r.unread_b + case v_side when 'a' then 1 else 0 end
   where r.id = p_room
  returning case v_side when 'a' then r.unread_b else r.unread_a end into v_unread;

  v_message := jsonb_build_object(
    'room', p_room, 'users', jsonb_build_array(v_room.user_a, v_room.user_b),
    'seq', v_seq, 'id', v_id, 'side', v_side, 'sender', p_user,
    'alias', case v_side when 'a' then v_room.alias_a else v_room.alias_b end,
    'recipient', case v_side when 'a' then v_room.user_b else v_room.user_a end,
    'content', v_content, 'client_id', p_client_id, 'sent_at', v_sent_at,
    'unread_count', v_unread, 'origin', p_origin);
  -- as internal.notify_messages: a message too large for a NOTIFY goes without its content
  if octet_length(v_message::text) > 7000 then
    v_message := v_message || '{"content": null, "content_omitted": true}';
  end if;
  perform pg_notify('chat_events', '{"v":1,"type":"messages.created","messages":[' || v_message::text || ']}');

  return jsonb_build_object('ok', true, 'id', v_id, 'seq', v_seq, 'sent_at', v_sent_at, 'client_id', p_client_id);
end
$$;
comment on function bench_naive.post_message(uuid, uuid, text, text, text) is 'Bench baseline: one message, one transaction, one NOTIFY.';

/*
 * The api.post_events-compatible face of post_message, so the real server can run on it with
 * SEND_BATCH_MAX=1 (one-element array in, one-element result out; longer arrays work too, one
 * post_message per message). Reads and typing, which the bench never sends, go to the v1
 * baseline's batch function (bench/baselines/post_events_v1.sql, installed alongside).
 */
create function bench_naive.post_events(p_events jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app
as $$
declare
  v_event jsonb;
  v_results jsonb := '[]'::jsonb;
begin
  for v_event in select e from jsonb_array_elements(p_events) e loop
    if v_event->>'kind' = 'message' then
      v_results := v_results || (jsonb_build_object('i', (v_event->>'i')::integer) || bench_naive.post_message(
        (v_event->>'room')::uuid, (v_event->>'user')::uuid, v_event->>'content', v_event->>'client_id', v_event->>'origin'));
    else
      v_results := v_results || bench_v1.post_events(jsonb_build_array(v_event));
    end if;
  end loop;
  return v_results;
end
$$;
comment on function bench_naive.post_events(jsonb) is 'Bench baseline: api.post_events shape over post_message, for SEND_BATCH_MAX=1.';

revoke execute on all functions in schema bench_naive from public;
grant execute on function bench_naive.post_events(jsonb) to chat_gateway;
