/*
 * The key failures of an identifier count against: the account it names (so its email and its
 * pseudo share one budget), or the identifier itself when it names nobody.
 */
create function internal.login_key(p_identifier text)
returns text
language sql stable
as $$
  select coalesce(
    (select 'user:' || u.id
     from app.users u
     where case when p_identifier like '%@%'
                then u.email = lower(btrim(p_identifier))
                else lower(u.pseudo) = lower(btrim(p_identifier)) end),
    'id:' || lower(btrim(p_identifier)))
$$;
comment on function internal.login_key(text) is 'user:<id> for a known identifier, else id:<identifier>: the key failed logins count against.';

/*
 * Login is two calls so that the slow argon2 verification runs in the gateway without a
 * transaction open: login_begin (counts the attempt, returns the hash), then login_succeeded.
 *
 * Every attempt counts as a failure until login_succeeded takes it back, so parallel guesses
 * cannot slip past the limit while their hashes are being checked. Attempts are counted per key
 * in a fixed 15-minute window: the account or unknown identifier (5) and the client address (50).
 * The limit is checked before the password is looked at, so a blocked client learns nothing.
 */
create function internal.count_login_attempt(p_key text, p_limit integer)
returns void
language plpgsql volatile
as $$
declare
  v_row app.login_failures;
begin
  insert into app.login_failures as f (key, failures, window_start)
  values (p_key, 1, now())
  on conflict (key) do update
    set failures = case when f.window_start > now() - interval '15 minutes' then f.failures + 1 else 1 end,
        window_start = case when f.window_start > now() - interval '15 minutes' then f.window_start else now() end
  returning * into v_row;

  if v_row.failures > p_limit then
    -- raising undoes this attempt's count: the key stays exactly at its limit
    raise exception 'too many failed logins, try again later' using errcode = 'CALIM',
      detail = greatest(1, ceil(extract(epoch from v_row.window_start + interval '15 minutes' - now())))::integer::text;
  end if;
end
$$;
comment on function internal.count_login_attempt(text, integer) is 'Counts one login attempt against a key; CALIM (detail = retry-after seconds) beyond the limit.';

create function api.login_begin(p_identifier text, p_client text)
returns table (user_json jsonb, password_hash text)
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
begin
  perform internal.count_login_attempt(internal.login_key(p_identifier), 5);
  perform internal.count_login_attempt('client:' || p_client, 50);

  return query
    select jsonb_build_object(
             'id', u.id, 'pseudo', u.pseudo, 'email', u.email, 'country', u.country,
             'created_at', internal.iso_time(u.created_at)),
           u.password_hash
    from app.users u
    where case when p_identifier like '%@%'
               then u.email = lower(btrim(p_identifier))
               else lower(u.pseudo) = lower(btrim(p_identifier)) end;
end
$$;
comment on function api.login_begin(text, text) is 'Counts a login attempt (CALIM with detail = retry-after seconds beyond the limit) and returns the user and hash (no row for unknown users).';

create function api.login_succeeded(p_identifier text, p_client text)
returns void
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  delete from app.login_failures where key = internal.login_key(p_identifier);
  update app.login_failures set failures = greatest(failures - 1, 0) where key = 'client:' || p_client;
$$;
comment on function api.login_succeeded(text, text) is 'Takes back a successful attempt: forgets the account''s count, and this one from the client''s.';
