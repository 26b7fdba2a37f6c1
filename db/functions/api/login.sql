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
 * Login is three calls so that the slow argon2 verification runs in the gateway without a
 * transaction open: login_begin (rate limit + lookup), then login_failed or login_succeeded.
 *
 * Failures are counted per key in a fixed 15-minute window: the account or unknown identifier (5 failures) and the
 * client address (50 failures, so one address cannot spray many accounts). The check happens
 * before the password is looked at, so a blocked client learns nothing about the password.
 */
create function internal.login_retry_after(p_key text, p_limit integer)
returns integer
language sql stable
as $$
  select ceil(extract(epoch from f.window_start + interval '15 minutes' - now()))::integer
  from app.login_failures f
  where f.key = p_key and f.failures >= p_limit and f.window_start > now() - interval '15 minutes'
$$;
comment on function internal.login_retry_after(text, integer) is 'Seconds until the key may try again, or null when it is not blocked.';

create function api.login_begin(p_identifier text, p_client text)
returns table (user_json jsonb, password_hash text)
language plpgsql stable security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_retry_after integer := greatest(
    internal.login_retry_after(internal.login_key(p_identifier), 5),
    internal.login_retry_after('client:' || p_client, 50));
begin
  if v_retry_after is not null then
    raise exception 'too many failed logins, try again later'
      using errcode = 'CALIM', detail = greatest(v_retry_after, 1)::text;
  end if;

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
comment on function api.login_begin(text, text) is 'Raises CALIM (detail = retry-after seconds) when rate limited, else returns the user and hash (no row for unknown users).';

create function api.login_failed(p_identifier text, p_client text)
returns void
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  insert into app.login_failures as f (key, failures, window_start)
  values (internal.login_key(p_identifier), 1, now()),
         ('client:' || p_client, 1, now())
  on conflict (key) do update
    set failures = case when f.window_start > now() - interval '15 minutes' then f.failures + 1 else 1 end,
        window_start = case when f.window_start > now() - interval '15 minutes' then f.window_start else now() end
$$;
comment on function api.login_failed(text, text) is 'Counts one failed login against the identifier and the client address.';

create function api.login_succeeded(p_identifier text)
returns void
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  delete from app.login_failures where key = internal.login_key(p_identifier)
$$;
comment on function api.login_succeeded(text) is 'Forgets the identifier''s failed attempts.';
