/* A room is open until it is closed or its expires_at passes, whether or not the expiry job ran. */
create function internal.room_is_open(p_room app.rooms)
returns boolean
language sql stable
as $$
  select p_room.closed_at is null and p_room.expires_at > now()
$$;
comment on function internal.room_is_open(app.rooms) is 'True while the room is neither closed nor past expires_at.';

/* Which side ('a' or 'b') a user is in a room, or null for a non-member. */
create function internal.room_side(p_room app.rooms, p_user uuid)
returns text
language sql immutable
as $$
  select case p_user when p_room.user_a then 'a' when p_room.user_b then 'b' end
$$;
comment on function internal.room_side(app.rooms, uuid) is 'a, b, or null when the user is not a member.';

/* The other member of a room (the caller must be a member). */
create function internal.partner_of(p_room app.rooms, p_user uuid)
returns uuid
language sql immutable
as $$
  select case p_user when p_room.user_a then p_room.user_b else p_room.user_a end
$$;
comment on function internal.partner_of(app.rooms, uuid) is 'The member of the room who is not p_user.';

/*
 * How a viewer sees a user id in a room: their own id as is, the partner's as the partner's
 * per-room alias, so an account id never reaches the other side.
 */
create function internal.visible_user_id(p_room app.rooms, p_viewer uuid, p_user uuid)
returns uuid
language sql immutable
as $$
  select case
    when p_user = p_viewer then p_user
    when p_user = p_room.user_a then p_room.alias_a
    else p_room.alias_b
  end
$$;
comment on function internal.visible_user_id(app.rooms, uuid, uuid) is 'Own id for the viewer, per-room alias for the partner.';

create function internal.closed_reason(p_room app.rooms)
returns text
language sql stable
as $$
  select case
    when p_room.closed_at is not null then p_room.closed_reason
    when p_room.expires_at <= now() then 'expired'
  end
$$;
comment on function internal.closed_reason(app.rooms) is 'closed, expired (also before the expiry job ran), or null while open.';

/* The contract's room object as one member sees it: their own name, the partner's hidden. */
create function internal.room_json(p_room app.rooms, p_viewer uuid)
returns jsonb
language sql stable
as $$
  select jsonb_build_object(
    'id', p_room.id,
    'country_a', p_room.country_a,
    'country_b', p_room.country_b,
    'user_a_room_name', case when v.me = 'a' then p_room.user_a_room_name else 'Stranger' end,
    'user_b_room_name', case when v.me = 'b' then p_room.user_b_room_name else 'Stranger' end,
    'created_at', internal.iso_time(p_room.created_at),
    'expires_at', internal.iso_time(p_room.expires_at),
    'is_active', v.is_open,
    'me', v.me,
    'name', case v.me when 'a' then p_room.user_a_room_name else p_room.user_b_room_name end,
    'partner_country', case v.me when 'a' then p_room.country_b else p_room.country_a end,
    'unread_count', case when not v.is_open then 0 when v.me = 'a' then p_room.unread_a else p_room.unread_b end,
    'last_message', (
      select jsonb_build_object(
        'id', m.id,
        'content', m.content,
        'sent_at', internal.iso_time(m.sent_at),
        'mine', m.sender_id = p_viewer
      )
      from app.messages m
      where v.is_open and m.room_id = p_room.id
      order by m.seq desc
      limit 1
    ),
    'closed_reason', internal.closed_reason(p_room)
  )
  from (select internal.room_side(p_room, p_viewer) as me, internal.room_is_open(p_room) as is_open) v
$$;
comment on function internal.room_json(app.rooms, uuid) is 'The API room object from the viewer''s side.';

/*
 * A member's room, locked for update when asked. Unknown rooms and non-members look the same
 * (room not found), so ids cannot be probed.
 */
create function internal.member_room(p_user uuid, p_room_id uuid)
returns app.rooms
language plpgsql stable
as $$
declare
  v_room app.rooms;
begin
  select * into v_room from app.rooms r where r.id = p_room_id and p_user in (r.user_a, r.user_b);
  if not found then
    raise exception 'room not found' using errcode = 'CRNFD';
  end if;
  return v_room;
end
$$;
comment on function internal.member_room(uuid, uuid) is 'The room if the user is a member, else raises CRNFD.';

/*
 * Closing and expiring are the same act with a different reason: the room keeps its metadata,
 * its messages (and their reactions, by cascade) are deleted in the same transaction, and both
 * users are told. Returns false when the room was already closed, so a second closer does nothing.
 */
create function internal.close_room(p_room_id uuid, p_reason text)
returns boolean
language plpgsql volatile
as $$
declare
  v_room app.rooms;
begin
  update app.rooms
     set closed_at = now(), closed_reason = p_reason, unread_a = 0, unread_b = 0
   where id = p_room_id and closed_at is null
  returning * into v_room;
  if not found then
    return false;
  end if;

  delete from app.messages where room_id = p_room_id;
  perform internal.notify('room.closed', v_room.id, array[v_room.user_a, v_room.user_b],
                          jsonb_build_object('reason', p_reason));
  return true;
end
$$;
comment on function internal.close_room(uuid, text) is 'Marks a room closed or expired, deletes its content and emits room.closed; false if already closed.';

/*
 * The user's open rooms: not closed and not past expires_at (a room is inactive the moment it
 * expires, job or no job). Two index scans, one per side, rather than an OR that scans both
 * columns. Shared by the room list and the badge list so they always show the same rooms.
 */
create function internal.open_rooms_of(p_user uuid)
returns setof app.rooms
language sql stable
as $$
  select * from app.rooms where user_a = p_user and closed_at is null and expires_at > now()
  union all
  select * from app.rooms where user_b = p_user and closed_at is null and expires_at > now()
$$;
comment on function internal.open_rooms_of(uuid) is 'Open rooms of a user (either side), unordered.';
