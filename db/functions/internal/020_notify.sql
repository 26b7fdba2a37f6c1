/*
 * Every realtime event leaves the database through this one channel (docs/architecture.md): the gateway
 * holds one LISTEN connection per process and routes by payload. The envelope always names the
 * room and its two users so the gateway can route without a lookup.
 * NOTIFY is a doorbell, not the record: whatever a client must not miss is in a table too.
 */
create function internal.notify(p_type text, p_room uuid, p_users uuid[], p_payload jsonb default '{}')
returns void
language sql volatile
as $$
  select pg_notify(
    'chat_events',
    (jsonb_build_object('v', 1, 'type', p_type, 'room', p_room, 'users', to_jsonb(p_users)) || p_payload)::text
  )
$$;
comment on function internal.notify(text, uuid, uuid[], jsonb) is 'Sends one event envelope on the chat_events channel.';

/*
 * The send path's events, many per NOTIFY: one envelope {"v":1,"type":"messages.created",
 * "messages":[…]} per ~7000 bytes of messages, each message carrying its own room and users.
 * One pg_notify per message measured at about a fifth of api.post_events' time; per chunk it is
 * a tenth of that. A message too large to travel in any envelope goes without its content, and
 * the gateway reads it from the table.
 */
create function internal.notify_messages(p_messages jsonb)
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
comment on function internal.notify_messages(jsonb) is 'Sends stored messages as messages.created envelopes of at most ~7000 bytes each.';
