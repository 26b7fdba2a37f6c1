/* The badge list of the notification socket: every open room of the user with its unread count. */
create function api.unread_counts(p_user uuid)
returns jsonb
language sql stable security definer
set search_path = pg_catalog, app, internal
as $$
  select coalesce(jsonb_agg(jsonb_build_object('room_id', r.id, 'unread_count', r.unread) order by r.created_at desc), '[]'::jsonb)
  from (
    select id, created_at, unread_a as unread from app.rooms
    where user_a = p_user and closed_at is null and expires_at > now()
    union all
    select id, created_at, unread_b from app.rooms
    where user_b = p_user and closed_at is null and expires_at > now()
  ) r
$$;
comment on function api.unread_counts(uuid) is 'Unread count per open room of the user, newest room first.';
