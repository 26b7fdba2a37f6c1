/*
 * Presence changes waiting users' entries in place (disconnected_at, about once a second), and a
 * join takes its partner "for update skip locked" (see api.join_pool). A joiner that found such an
 * entry row-locked by presence would skip a compatible user who stays waiting, and queue beside
 * them. So presence takes the pool's locks first, as a join would: "any" and the country of every
 * entry it is about to change. Every join that could take one of these entries holds one of the
 * same locks, so the two never overlap: the join runs before presence or after it, and never
 * meets its row lock. (A join waiting for the row lock instead would deadlock with presence when
 * one batch takes two entries presence changes in the other order.)
 *
 * Returns the users among p_users who are waiting: only their entries are covered. A user's
 * entry always has the user's country, so an entry they make meanwhile is covered too; a user who
 * starts waiting only after this call is left for the next report.
 */
create function internal.lock_pool_entries(p_users uuid[])
returns uuid[]
language plpgsql volatile
as $$
declare
  v_waiting uuid[];
  v_countries text[];
begin
  select array_agg(e.user_id), array_agg(distinct e.country::text)
    into v_waiting, v_countries
  from app.pool_entries e
  where e.user_id = any(p_users);
  if v_waiting is null then
    return '{}';
  end if;
  perform internal.lock_pool(true, v_countries);
  return v_waiting;
end
$$;
comment on function internal.lock_pool_entries(uuid[]) is 'Takes the pool locks covering the entries of the given users; returns those who wait.';
