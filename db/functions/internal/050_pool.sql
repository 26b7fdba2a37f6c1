/*
 * A pool entry counts while it is younger than its expires_at (15 minutes) and its user either
 * never opened a notification socket or lost the last one less than 30 seconds ago.
 */
create function internal.pool_entry_is_live(p_entry app.pool_entries)
returns boolean
language sql stable
as $$
  select p_entry.expires_at > now()
     and (p_entry.disconnected_at is null or p_entry.disconnected_at > now() - interval '30 seconds')
$$;
comment on function internal.pool_entry_is_live(app.pool_entries) is 'Whether a waiting entry may still be matched.';

/* Advisory lock keys are bigints; name them by text so the locks read well in the code. */
create function internal.lock_key(p_name text)
returns bigint
language sql immutable
as $$
  select ('x' || left(md5(p_name), 16))::bit(64)::bigint
$$;
comment on function internal.lock_key(text) is 'A stable advisory-lock key for a readable name.';
