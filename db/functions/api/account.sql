/*
 * What the gateway's token check needs about a user: null when the account does not exist (any
 * more), else the whole second tokens must be issued at or after (0 when never signed out).
 * The gateway caches it per user and keeps the cache right from user.revoked / user.deleted.
 */
create function api.auth_state(p_user uuid)
returns bigint
language sql stable security definer
set search_path = pg_catalog, app, internal
as $$
  select coalesce(internal.epoch_seconds(u.tokens_valid_from), 0) from app.users u where u.id = p_user
$$;
comment on function api.auth_state(uuid) is 'Null for an unknown user, else the epoch second tokens must be issued at or after (0: any).';

/*
 * The first half of a password check on a signed-in account (deleting it, changing the password):
 * counts the attempt (5 per 15 minutes and account, so a stolen token cannot guess the password)
 * and returns the hash for the gateway's argon2 verification. A successful change or deletion
 * takes the count back.
 */
create function api.password_check_begin(p_user uuid)
returns text
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_hash text;
begin
  select password_hash into v_hash from app.users where id = p_user;
  if not found then
    raise exception 'invalid or expired token' using errcode = 'CUNFD';
  end if;
  perform internal.count_user_action(p_user, 'password', 5, interval '15 minutes');
  return v_hash;
end
$$;
comment on function api.password_check_begin(uuid) is 'Counts a password check (CALIM past 5 per 15 minutes) and returns the account''s hash; CUNFD for unknown users.';

/* Signs the user out everywhere. Returns the epoch second later tokens are issued at. */
create function api.logout_all(p_user uuid)
returns bigint
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  select internal.epoch_seconds(internal.revoke_tokens(p_user))
$$;
comment on function api.logout_all(uuid) is 'Revokes every token of the user issued until now (emits user.revoked); returns the new valid-from second.';

/*
 * A new password (already hashed, after the gateway checked the old one) also signs out
 * everywhere; the caller gets a fresh token issued at the returned second.
 */
create function api.change_password(p_user uuid, p_password_hash text)
returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
begin
  update app.users set password_hash = p_password_hash where id = p_user;
  if not found then
    raise exception 'invalid or expired token' using errcode = 'CUNFD';
  end if;
  delete from app.rate_limits where key = internal.user_action_key(p_user, 'password');
  return internal.epoch_seconds(internal.revoke_tokens(p_user));
exception
  when check_violation then
    raise exception 'invalid account data' using errcode = 'CVINV';
end
$$;
comment on function api.change_password(uuid, text) is 'Sets a new argon2id hash and revokes every earlier token; returns the new valid-from second.';

/*
 * Deletes an account for good. The pool's locks come first (as a join takes them), so no join can
 * be pairing this user meanwhile. Open rooms are closed (their partners get room_closed, reason
 * "closed": they learn nothing more), then every row that names the user goes: rooms (and so
 * their messages — a user's messages are all in their rooms — reactions and blocks), reactions,
 * pool entry, presence, blocks, reports made, counters; reports about the user stay without the id.
 * Every gateway drops the user's sockets and refuses their tokens on user.deleted.
 */
create function api.delete_account(p_user uuid)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_user app.users;
  v_room record;
begin
  select * into v_user from app.users where id = p_user;
  if not found then
    raise exception 'invalid or expired token' using errcode = 'CUNFD';
  end if;
  perform internal.lock_pool(true, array[v_user.country::text]);

  -- rooms before the user row, the order a reaction takes them in (room, then its key share)
  for v_room in
    select r.id, r.expires_at > now() as is_open from app.rooms r
    where (r.user_a = p_user or r.user_b = p_user) and r.closed_at is null
    order by r.id
    for update
  loop
    perform internal.close_room(v_room.id, case when v_room.is_open then 'closed' else 'expired' end);
  end loop;
  perform from app.users where id = p_user for update;

  delete from app.rate_limits where key like 'user:' || p_user || ' %'; -- its login backoff and action budgets
  delete from app.users where id = p_user; -- rooms, reactions, pool entry, presence, blocks, reports: by cascade
  perform internal.notify_user('user.deleted', p_user);
end
$$;
comment on function api.delete_account(uuid) is 'Closes the user''s open rooms, deletes every row naming the user and emits user.deleted.';
