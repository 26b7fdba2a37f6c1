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
