/*
 * Joins the matching pool: pairs the caller with the oldest compatible waiting user, or leaves
 * them waiting. Returns {"matched": true, "room": …} or {"matched": false}.
 *
 * Compatibility: never oneself, never someone the caller already shares an open room with, never
 * a pair one of whom blocked the other, and when either side asked for same_country, both
 * countries are equal. A suspended account (api.report_room) gets CPSUS.
 *
 * Concurrency. Two compatible joiners must never both end up waiting, so every pair of
 * compatible joiners shares at least one advisory lock:
 *   - everyone takes the lock of their own country;
 *   - whoever accepts any country also takes the "any" lock, first (one order, no deadlock).
 * Two any-country joiners share "any"; if either insists on same_country, they have the same
 * country and share its lock. The lock is held until commit, so the second joiner sees the first
 * one's entry.
 *
 * Partners are taken "for update skip locked". That is right only because a compatible entry is
 * never row-locked by anything that leaves it waiting: another join locks it only to take it,
 * leave and the sweep only to delete it, and presence, which changes entries in place, first
 * takes the pool's locks that cover them (internal.lock_pool_entries), so it never overlaps a
 * join that could take them. Anything that comes to change pool entries in place must do the
 * same. Skipping rather than waiting keeps a batch from deadlocking with such a writer over two
 * entries (tests/sql/concurrency/pool.test.ts shows both failures).
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
begin
  select * into v_me from app.users where id = p_user;
  if found then
    perform internal.lock_pool(not p_same_country, array[v_me.country]);
    -- read again under the locks: a deletion or a suspension that held them has committed now
    select * into v_me from app.users where id = p_user;
  end if;
  if not found then
    raise exception 'invalid or expired token' using errcode = 'CUNFD'; -- an account deleted since
  end if;
  return internal.join_pool_locked(v_me, p_same_country, p_room_ttl);
end
$$;
comment on function api.join_pool(uuid, boolean, interval) is 'Matches the caller with the oldest compatible waiting user or adds them to the pool; CPDUP when already waiting.';

/*
 * Many joins in one transaction, in the order given: what the gateway sends when joins arrive
 * together (one commit for all of them instead of one each, while the pool's locks are held
 * through every commit). All the locks the batch needs are taken first, in the one order, so
 * batches of several processes never deadlock. Input [{"i", "user", "same_country"}]; output one
 * result per join: {"i", "result": <as api.join_pool>} or {"i", "error": {"sqlstate", "message"}}.
 * A join that fails (already waiting) fails alone.
 */
create function api.join_pool_batch(p_joins jsonb, p_room_ttl interval default interval '24 hours')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_join record;
  v_me app.users;
  v_results jsonb := '[]';
begin
  perform internal.lock_pool(
    exists (select from jsonb_to_recordset(p_joins) j(same_country boolean) where not j.same_country),
    array(select distinct u.country::text
          from jsonb_to_recordset(p_joins) j("user" uuid) join app.users u on u.id = j."user"));

  for v_join in
    select j.i, j."user", j.same_country from jsonb_to_recordset(p_joins) j(i integer, "user" uuid, same_country boolean) order by j.i
  loop
    begin
      select * into v_me from app.users where id = v_join."user";
      if not found then
        raise exception 'invalid or expired token' using errcode = 'CUNFD';
      end if;
      v_results := v_results || jsonb_build_object('i', v_join.i,
        'result', internal.join_pool_locked(v_me, v_join.same_country, p_room_ttl));
    exception when others then
      v_results := v_results || jsonb_build_object('i', v_join.i,
        'error', jsonb_build_object('sqlstate', sqlstate, 'message', sqlerrm));
    end;
  end loop;
  return v_results;
end
$$;
comment on function api.join_pool_batch(jsonb, interval) is 'Several pool joins in one transaction, in order; a result or an error per join.';
