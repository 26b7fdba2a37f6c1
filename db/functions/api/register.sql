/*
 * Creates an account. The password arrives already hashed (argon2id runs in the gateway, where
 * it does not hold a database connection's worth of CPU); only api.login_begin returns the hash,
 * to the gateway, for verification.
 * Input rules are checked here too, so psql callers get the same guarantees as the HTTP API.
 */
create function api.register(p_pseudo text, p_email text, p_country text, p_password_hash text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_user app.users;
begin
  if not exists (select from app.countries where code = upper(p_country)) then
    raise exception 'must be an ISO 3166-1 alpha-2 country code' using errcode = 'CVINV', column = 'country';
  end if;

  insert into app.users (pseudo, email, country, password_hash)
  values (internal.trim_text(p_pseudo), lower(internal.trim_text(p_email)), upper(p_country), p_password_hash)
  returning * into v_user;

  return jsonb_build_object(
    'id', v_user.id,
    'pseudo', v_user.pseudo,
    'email', v_user.email,
    'country', v_user.country,
    'created_at', internal.iso_time(v_user.created_at)
  );
exception
  when unique_violation then
    raise exception 'pseudo or email already taken' using errcode = 'CUDUP';
  when check_violation then
    raise exception 'invalid account data' using errcode = 'CVINV';
end
$$;
comment on function api.register(text, text, text, text) is 'Creates a user from an argon2id hash; CUDUP when pseudo or email is taken (any case).';

/*
 * A registration costs the gateway an argon2id hash before the database can even say the pseudo
 * is taken, so the attempt is counted first, per client address: at most p_per_hour an hour
 * (REGISTRATIONS_PER_HOUR), then CALIM with the seconds to wait.
 */
create function api.count_registration(p_client text, p_per_hour integer)
returns void
language sql volatile security definer
set search_path = pg_catalog, app, internal
as $$
  select internal.count_attempt('register:' || p_client, p_per_hour, interval '1 hour',
                                'too many registrations from this address, try again later')
$$;
comment on function api.count_registration(text, integer) is 'Counts a registration attempt of a client address; CALIM (detail = retry-after seconds) past the hourly limit.';
