/* The badge list of the notification socket: every open room of the user with its unread count. */
create function api.unread_counts(p_user uuid)
returns jsonb
language sql stable security definer
set search_path = pg_catalog, app, internal
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'room_id', r.id,
           'unread_count', case when r.user_a = p_user then r.unread_a else r.unread_b end
         ) order by r.created_at desc), '[]'::jsonb)
  from internal.open_rooms_of(p_user) r
$$;
comment on function api.unread_counts(uuid) is 'Unread count per open room of the user, newest room first.';
