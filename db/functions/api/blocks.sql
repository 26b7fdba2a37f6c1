/*
 * Blocks. A member blocks the partner of a room (open or closed); from then on the two are never
 * matched again, in either direction (internal.join_pool_locked checks app.blocks), and every
 * open room between them closes with reason "blocked". The API only ever names the room: the
 * blocker never learns who the partner is.
 *
 * Concurrency: a block takes the pool's locks of both users' countries (a subset of the one
 * order, so no deadlock) before it writes. A join that could pair these two holds one of those
 * locks until it commits, so either the join committed first — and its new room is closed here —
 * or it starts after the block committed and sees it.
 * 30 blocks per hour and user.
 */
create function api.block_room(p_user uuid, p_room_id uuid)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms := internal.member_room(p_user, p_room_id);
  v_partner uuid := internal.partner_of(v_room, p_user);
  v_open uuid;
begin
  perform internal.count_user_action(p_user, 'block', 30, interval '1 hour');
  perform internal.lock_pool(false, array(select distinct country::text from app.users where id in (p_user, v_partner)));

  insert into app.blocks (blocker_id, room_id, blocked_id)
  values (p_user, p_room_id, v_partner)
  on conflict do nothing;

  for v_open in
    select r.id from app.rooms r
    where r.closed_at is null and r.expires_at > now()
      and ((r.user_a = p_user and r.user_b = v_partner) or (r.user_a = v_partner and r.user_b = p_user))
    order by r.id
    for update
  loop
    perform internal.close_room(v_open, 'blocked');
  end loop;
end
$$;
comment on function api.block_room(uuid, uuid) is 'Blocks the partner of a room of the caller: never matched again, open rooms between them closed (blocked); CRNFD, CALIM.';

/* Lifts the caller's block of a room; the pair may be matched again unless another block remains. */
create function api.unblock_room(p_user uuid, p_room_id uuid)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
begin
  perform internal.count_user_action(p_user, 'block', 30, interval '1 hour');
  delete from app.blocks where blocker_id = p_user and room_id = p_room_id;
  if not found then
    raise exception 'block not found' using errcode = 'CBNFD';
  end if;
end
$$;
comment on function api.unblock_room(uuid, uuid) is 'Removes the caller''s block of a room; CBNFD when there is none.';

/* The caller's blocks, newest first: [{room_id, blocked_at}], never the partner's identity. */
create function api.blocks(p_user uuid)
returns jsonb
language sql stable security definer
set search_path = pg_catalog, app, internal
as $$
  select coalesce(jsonb_agg(jsonb_build_object('room_id', b.room_id, 'blocked_at', internal.iso_time(b.created_at))
                            order by b.created_at desc, b.room_id), '[]'::jsonb)
  from app.blocks b
  where b.blocker_id = p_user
$$;
comment on function api.blocks(uuid) is 'The caller''s blocks as [{room_id, blocked_at}], newest first.';
