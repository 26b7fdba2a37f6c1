/*
 * The room socket's handshake: may this user open a socket on this room? Returns the user's side
 * and the room's last seq; raises CRNFD (not a member / unknown), CRCLO (closed) or CREXP (expired).
 */
create function api.open_room_socket(p_user uuid, p_room_id uuid)
returns jsonb
language plpgsql stable security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms := internal.member_room(p_user, p_room_id);
begin
  if v_room.closed_at is not null and v_room.closed_reason = 'closed' then
    raise exception 'room is no longer active' using errcode = 'CRCLO';
  elsif not internal.room_is_open(v_room) then
    raise exception 'room has expired' using errcode = 'CREXP';
  end if;
  return jsonb_build_object('side', internal.room_side(v_room, p_user), 'last_seq', v_room.last_seq);
end
$$;
comment on function api.open_room_socket(uuid, uuid) is 'Handshake check of a room socket: side and last_seq, or CRNFD / CRCLO / CREXP.';

/*
 * A room's messages after a seq, in order, with what the gateway needs to address each frame to
 * both sides (sender side, sender id, sender alias). Used to resume a socket and to fill gaps
 * left by a missed notification. A room that is no longer open raises CRCLO / CREXP, so a feed
 * that asks learns that its sockets must close.
 */
create function api.room_feed(p_room_id uuid, p_after_seq bigint, p_limit integer default 1000)
returns table (seq bigint, id uuid, side text, sender uuid, alias uuid, content text,
               client_id text, sent_at text)
language plpgsql stable security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms;
begin
  select * into v_room from app.rooms r where r.id = p_room_id;
  if not found then
    raise exception 'room not found' using errcode = 'CRNFD';
  elsif internal.closed_reason(v_room) = 'closed' then
    raise exception 'room is no longer active' using errcode = 'CRCLO';
  elsif internal.closed_reason(v_room) = 'expired' then
    raise exception 'room has expired' using errcode = 'CREXP';
  end if;

  return query
    select m.seq, m.id, internal.room_side(v_room, m.sender_id), m.sender_id,
           case when m.sender_id = v_room.user_a then v_room.alias_a else v_room.alias_b end,
           m.content, m.client_id, internal.iso_time(m.sent_at)
    from app.messages m
    where m.room_id = p_room_id and m.seq > p_after_seq
    order by m.seq
    limit p_limit;
end
$$;
comment on function api.room_feed(uuid, bigint, integer) is 'Messages of an open room after a seq, for resume and gap filling; CRCLO / CREXP once it is not open.';
