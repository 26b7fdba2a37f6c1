/* Housekeeping run periodically by the gateway: drops dead pool entries and forgotten rate-limit counts. */
create function api.sweep()
returns void
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  delete from app.pool_entries e where not internal.pool_entry_is_live(e);
  -- every kind of count is over a day after its window started or its last block ended
  delete from app.rate_limits where coalesce(blocked_until, window_start) < now() - interval '1 day';
$$;
comment on function api.sweep() is 'Deletes pool entries that can no longer match and rate-limit counts that no longer count.';
