/* Leaves the pool. An entry that is no longer live counts as already gone. */
create function api.leave_pool(p_user uuid)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_was_live boolean;
begin
  delete from app.pool_entries e where e.user_id = p_user
  returning internal.pool_entry_is_live(e) into v_was_live;
  if not coalesce(v_was_live, false) then
    raise exception 'not in the pool' using errcode = 'CPNIP';
  end if;
end
$$;
comment on function api.leave_pool(uuid) is 'Removes the caller from the pool; CPNIP when not waiting.';
