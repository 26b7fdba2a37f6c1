/* The caller's open rooms, newest first. Expired rooms drop out at once, job or no job. */
create function api.my_rooms(p_user uuid)
returns jsonb
language sql stable security definer
set search_path = pg_catalog, app, internal
as $$
  select coalesce(jsonb_agg(internal.room_json(r, p_user) order by r.created_at desc, r.id), '[]'::jsonb)
  from internal.open_rooms_of(p_user) r
$$;
comment on function api.my_rooms(uuid) is 'Open rooms of the user, newest first, as API room objects.';

/* One room of the caller, open or not. */
create function api.room(p_user uuid, p_room_id uuid)
returns jsonb
language sql stable security definer
set search_path = pg_catalog, app, internal
as $$
  select internal.room_json(internal.member_room(p_user, p_room_id), p_user)
$$;
comment on function api.room(uuid, uuid) is 'A room of the caller (closed ones too); CRNFD for others.';

/* Renames the caller's side of an open room; the partner keeps seeing "Stranger". */
create function api.rename_room(p_user uuid, p_room_id uuid, p_name text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms := internal.member_room(p_user, p_room_id);
  v_name text := internal.trim_text(p_name);
begin
  if not internal.room_is_open(v_room) then
    raise exception 'room not found' using errcode = 'CRNFD';
  end if;
  if coalesce(char_length(v_name), 0) not between 1 and 64 then
    raise exception 'name is required (1-64 chars)' using errcode = 'CVNAM';
  end if;

  -- the open check again under the row lock: a close that commits first wins
  update app.rooms r
     set user_a_room_name = case when r.user_a = p_user then v_name else r.user_a_room_name end,
         user_b_room_name = case when r.user_b = p_user then v_name else r.user_b_room_name end
   where r.id = p_room_id and r.closed_at is null and r.expires_at > now()
  returning * into v_room;
  if not found then
    raise exception 'room not found' using errcode = 'CRNFD';
  end if;
  return internal.room_json(v_room, p_user);
end
$$;
comment on function api.rename_room(uuid, uuid, text) is 'Sets the caller''s private name of an open room; CRNFD, CVNAM.';

/* Either member closes an open room early: content deleted, both users told. */
create function api.close_room(p_user uuid, p_room_id uuid)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms := internal.member_room(p_user, p_room_id);
begin
  if not internal.room_is_open(v_room) or not internal.close_room(p_room_id, 'closed') then
    raise exception 'room not found' using errcode = 'CRNFD';
  end if;
end
$$;
comment on function api.close_room(uuid, uuid) is 'Closes an open room of the caller (reason closed); CRNFD otherwise.';
