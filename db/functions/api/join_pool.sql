/*
 * Joins the matching pool: pairs the caller with the oldest compatible waiting user, or leaves
 * them waiting. Returns {"matched": true, "room": …} or {"matched": false}.
 *
 * Compatibility: never oneself, never someone the caller already shares an open room with, and
 * when either side asked for same_country, both countries are equal.
 *
 * Concurrency. Two compatible joiners must never both end up waiting, so every pair of
 * compatible joiners shares at least one advisory lock:
 *   - everyone takes the lock of their own country;
 *   - whoever accepts any country also takes the "any" lock, first (one order, no deadlock).
 * Two any-country joiners share "any"; if either insists on same_country, they have the same
 * country and share its lock. The lock is held until commit, so the second joiner sees the first
 * one's entry. Partners are taken "for update skip locked" so a concurrent leave never blocks a
 * join: whichever commits first wins and the other sees a consistent state.
 */
create function api.join_pool(
  p_user uuid,
  p_same_country boolean default false,
  p_room_ttl interval default interval '24 hours'
)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_me app.users;
  v_partner app.pool_entries;
  v_room app.rooms;
begin
  select * into v_me from app.users where id = p_user;
  if not found then
    raise exception 'invalid or expired token' using errcode = 'CUNFD'; -- an account deleted since
  end if;

  if not p_same_country then
    perform pg_advisory_xact_lock(internal.lock_key('pool:any'));
  end if;
  perform pg_advisory_xact_lock(internal.lock_key('pool:' || v_me.country));

  -- A stale entry of one's own (expired, or its tab long closed) is simply replaced.
  delete from app.pool_entries e where e.user_id = p_user and not internal.pool_entry_is_live(e);
  if exists (select from app.pool_entries where user_id = p_user) then
    raise exception 'already in the pool' using errcode = 'CPDUP';
  end if;

  select * into v_partner
  from app.pool_entries p
  where p.user_id <> p_user
    and internal.pool_entry_is_live(p)
    and (p.country = v_me.country or not (p.same_country or p_same_country))
    and not exists (
      select from app.rooms r
      where r.closed_at is null and r.expires_at > now()
        and ((r.user_a = p.user_id and r.user_b = p_user) or (r.user_a = p_user and r.user_b = p.user_id)))
  order by p.joined_at
  limit 1
  for update skip locked;

  if not found then
    insert into app.pool_entries (user_id, country, same_country, expires_at, disconnected_at)
    values (p_user, v_me.country, p_same_country, now() + interval '15 minutes', null);
    return jsonb_build_object('matched', false);
  end if;

  delete from app.pool_entries where user_id = v_partner.user_id;

  -- Side a is the user who waited, side b the joiner.
  insert into app.rooms (user_a, user_b, country_a, country_b, expires_at)
  values (v_partner.user_id, p_user, v_partner.country, v_me.country, now() + p_room_ttl)
  returning * into v_room;

  perform internal.notify('room.created', v_room.id, array[v_room.user_a, v_room.user_b],
                          jsonb_build_object('waiter', v_room.user_a));
  return jsonb_build_object('matched', true, 'room', internal.room_json(v_room, p_user));
end
$$;
comment on function api.join_pool(uuid, boolean, interval) is 'Matches the caller with the oldest compatible waiting user or adds them to the pool; CPDUP when already waiting.';
