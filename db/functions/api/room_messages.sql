/*
 * A page of a room's history for a member, oldest first: the newest `limit` messages, or those
 * before a message, or those after a seq. Closed and expired rooms have no messages.
 * Returns {"messages": [...], "has_more": bool}.
 */
create function api.room_messages(
  p_user uuid,
  p_room_id uuid,
  p_limit integer default 200,
  p_before uuid default null,
  p_after_seq bigint default null
)
returns jsonb
language plpgsql stable security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms := internal.member_room(p_user, p_room_id);
  v_before_seq bigint;
  v_page jsonb;
  v_count integer;
begin
  if p_limit not between 1 and 500 then
    raise exception 'limit must be between 1 and 500' using errcode = 'CVINV';
  end if;
  if not internal.room_is_open(v_room) then
    return jsonb_build_object('messages', '[]'::jsonb, 'has_more', false);
  end if;

  if p_before is not null then
    select seq into v_before_seq from app.messages where id = p_before and room_id = p_room_id;
    if not found then
      raise exception 'message not found' using errcode = 'CMNFD';
    end if;
  end if;

  -- after_seq pages forward from the mark; otherwise the newest page below the bound. Each
  -- branch walks the (room_id, seq) primary key in its own direction and reads one extra row
  -- only to learn whether there is more.
  if p_after_seq is not null then
    select coalesce(jsonb_agg(internal.message_json(m, v_room, p_user) order by m.seq), '[]'::jsonb), count(*)
      into v_page, v_count
    from (
      select * from app.messages
      where room_id = p_room_id and seq > p_after_seq and (v_before_seq is null or seq < v_before_seq)
      order by seq
      limit p_limit + 1
    ) m;
    if v_count > p_limit then
      v_page := v_page - (-1); -- the extra row is the newest
    end if;
  else
    select coalesce(jsonb_agg(internal.message_json(m, v_room, p_user) order by m.seq), '[]'::jsonb), count(*)
      into v_page, v_count
    from (
      select * from app.messages
      where room_id = p_room_id and (v_before_seq is null or seq < v_before_seq)
      order by seq desc
      limit p_limit + 1
    ) m;
    if v_count > p_limit then
      v_page := v_page - 0; -- the extra row is the oldest
    end if;
  end if;
  return jsonb_build_object('messages', v_page, 'has_more', v_count > p_limit);
end
$$;
comment on function api.room_messages(uuid, uuid, integer, uuid, bigint) is 'A page of history (oldest first) with has_more; empty for closed rooms; CRNFD, CMNFD.';
