/*
 * The key failures of an identifier count against: the account it names (so its email and its
 * pseudo share one budget), or the identifier itself when it names nobody.
 */
create function internal.login_key(p_identifier text)
returns text
language sql stable
as $$
  select coalesce(
    (select 'user:' || u.id from internal.user_by_identifier(p_identifier) u),
    'id:' || lower(internal.trim_text(p_identifier)))
$$;
comment on function internal.login_key(text) is 'user:<id> for a known identifier, else id:<identifier>: the key failed logins count against.';

/*
 * Login is two calls so that the slow argon2 verification runs in the gateway without a
 * transaction open: login_begin (counts the attempt, returns the hash), then login_succeeded.
 *
 * Every attempt counts as a failure until login_succeeded takes it back, so parallel guesses
 * cannot slip past the limits while their hashes are being checked. Two limits, both checked
 * before the password is looked at, so a blocked client learns nothing:
 *   - an account (or unknown identifier) tried from one client address: 5 free attempts, then
 *     exponential backoff (1 minute, doubling, at most an hour). It is per address so that an
 *     attacker somewhere cannot lock the owner out everywhere else;
 *   - a client address across every identifier: 50 attempts per 15 minutes.
 */
create function api.login_begin(p_identifier text, p_client text)
returns table (user_json jsonb, password_hash text)
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
begin
  perform internal.count_backoff_attempt(internal.login_key(p_identifier) || ' from ' || p_client,
    5, interval '1 minute', interval '1 hour', 'too many failed logins, try again later');
  perform internal.count_attempt('client:' || p_client, 50, interval '15 minutes',
    'too many failed logins, try again later');

  return query
    select jsonb_build_object(
             'id', u.id, 'pseudo', u.pseudo, 'email', u.email, 'country', u.country,
             'created_at', internal.iso_time(u.created_at)),
           u.password_hash
    from internal.user_by_identifier(p_identifier) u;
end
$$;
comment on function api.login_begin(text, text) is 'Counts a login attempt (CALIM with detail = retry-after seconds while blocked) and returns the user and hash (no row for unknown users).';

create function api.login_succeeded(p_identifier text, p_client text)
returns void
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  delete from app.rate_limits where key = internal.login_key(p_identifier) || ' from ' || p_client;
  update app.rate_limits set attempts = greatest(attempts - 1, 0) where key = 'client:' || p_client;
$$;
comment on function api.login_succeeded(text, text) is 'Takes back a successful attempt: forgets the account''s count from this address, and this one from the address''s.';
