/*
 * The pool's locks (see api.join_pool): "any" first when some joiner accepts any country, then
 * the countries in sorted order. Everyone taking them in this one order makes deadlocks
 * impossible, also for batches that need several.
 */
create function internal.lock_pool(p_any boolean, p_countries text[])
returns void
language sql volatile
as $$
  select pg_advisory_xact_lock(internal.lock_key('pool:any')) where p_any;
  select pg_advisory_xact_lock(internal.lock_key('pool:' || c)) from unnest(p_countries) c order by c;
$$;
comment on function internal.lock_pool(boolean, text[]) is 'Takes the pool''s advisory locks in their one order.';

/*
 * One join, the pool's locks already held: the rules of api.join_pool (which see). Side a of a
 * new room is the user who waited, side b the joiner.
 */
create function internal.join_pool_locked(p_me app.users, p_same_country boolean, p_room_ttl interval)
returns jsonb
language plpgsql volatile
as $$
declare
  v_partner app.pool_entries;
  v_room app.rooms;
begin
  if p_me.suspended_until > now() then
    raise exception 'suspended from matching until % after reports from other users', internal.iso_time(p_me.suspended_until)
      using errcode = 'CPSUS';
  end if;

  -- A stale entry of one's own (expired, or its tab long closed) is simply replaced.
  delete from app.pool_entries e where e.user_id = p_me.id and not internal.pool_entry_is_live(e);
  if exists (select from app.pool_entries where user_id = p_me.id) then
    raise exception 'already in the pool' using errcode = 'CPDUP';
  end if;

  select * into v_partner
  from app.pool_entries p
  where p.user_id <> p_me.id
    and internal.pool_entry_is_live(p)
    and (p.country = p_me.country or not (p.same_country or p_same_country))
    and not exists (
      select from app.rooms r
      where r.closed_at is null and r.expires_at > now()
        and ((r.user_a = p.user_id and r.user_b = p_me.id) or (r.user_a = p_me.id and r.user_b = p.user_id)))
    -- a block, by either of the two, keeps them apart for good (api.block_room)
    and not exists (
      select from app.blocks b
      where (b.blocker_id = p_me.id and b.blocked_id = p.user_id) or (b.blocker_id = p.user_id and b.blocked_id = p_me.id))
    -- suspended after they started waiting (a report does not wait for the pool's locks)
    and not exists (select from app.users u where u.id = p.user_id and u.suspended_until > now())
  order by p.joined_at
  limit 1
  for update skip locked;

  if not found then
    insert into app.pool_entries (user_id, country, same_country, expires_at, disconnected_at)
    values (p_me.id, p_me.country, p_same_country, now() + interval '15 minutes', null);
    return jsonb_build_object('matched', false);
  end if;

  delete from app.pool_entries where user_id = v_partner.user_id;

  -- Side a is the user who waited, side b the joiner.
  insert into app.rooms (user_a, user_b, country_a, country_b, expires_at)
  values (v_partner.user_id, p_me.id, v_partner.country, p_me.country, now() + p_room_ttl)
  returning * into v_room;

  perform internal.notify('room.created', v_room.id, array[v_room.user_a, v_room.user_b],
                          jsonb_build_object('waiter', v_room.user_a));
  return jsonb_build_object('matched', true, 'room', internal.room_json(v_room, p_me.id));
end
$$;
comment on function internal.join_pool_locked(app.users, boolean, interval) is 'Matches or enqueues one user; the caller holds the pool locks.';
