/* Housekeeping run periodically by the gateway: drops dead pool entries and old login failures. */
create function api.sweep()
returns void
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  delete from app.pool_entries e where not internal.pool_entry_is_live(e);
  delete from app.login_failures where window_start < now() - interval '15 minutes';
$$;
comment on function api.sweep() is 'Deletes pool entries that can no longer match and expired login-failure windows.';
