/*
 * Expiry. A room is already inactive in every query once expires_at passes; these functions do
 * the rest (mark it expired, delete its content, tell both users). Each room is expired exactly
 * once however many processes race: the row lock decides, the loser sees closed_at set.
 */
create function api.expire_room(p_room_id uuid)
returns boolean
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
begin
  perform from app.rooms where id = p_room_id and closed_at is null and expires_at <= now() for update;
  if not found then
    return false;
  end if;
  return internal.close_room(p_room_id, 'expired');
end
$$;
comment on function api.expire_room(uuid) is 'Expires one room if it is due and still open; true when this call did it.';

/* Catch-up sweep: expires every due room (start-up, and a periodic safety net). */
create function api.expire_due_rooms(p_limit integer default 1000)
returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room_id uuid;
  v_count integer := 0;
begin
  for v_room_id in
    select id from app.rooms
    where closed_at is null and expires_at <= now()
    order by expires_at
    limit p_limit
    for update skip locked
  loop
    if internal.close_room(v_room_id, 'expired') then
      v_count := v_count + 1;
    end if;
  end loop;
  return v_count;
end
$$;
comment on function api.expire_due_rooms(integer) is 'Expires up to p_limit due rooms (oldest first) and returns how many.';
