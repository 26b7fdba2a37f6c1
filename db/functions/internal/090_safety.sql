/*
 * Per-user budgets of actions that cost others something (reports, blocks, password checks): a
 * fixed window in app.rate_limits like the anonymous limits, keyed "user:<id> <action>", so
 * deleting an account forgets them with its login backoff ("user:<id> from <client>").
 */
create function internal.user_action_key(p_user uuid, p_action text)
returns text
language sql immutable
as $$
  select 'user:' || p_user || ' ' || p_action
$$;
comment on function internal.user_action_key(uuid, text) is 'The app.rate_limits key of one user''s budget of one action.';

create function internal.count_user_action(p_user uuid, p_action text, p_limit integer, p_window interval)
returns void
language sql volatile
as $$
  select internal.count_attempt(internal.user_action_key(p_user, p_action), p_limit, p_window, 'too many requests, try again later')
$$;
comment on function internal.count_user_action(uuid, text, integer, interval) is 'Counts one action of a user in a fixed window; CALIM (detail = retry-after seconds) beyond the limit.';

/*
 * Events about a user rather than a room ({"v":1,"type":"user.revoked","user":…}): every gateway
 * updates its cache of token rules and closes that user's sockets.
 */
create function internal.notify_user(p_type text, p_user uuid, p_payload jsonb default '{}')
returns void
language sql volatile
as $$
  select pg_notify('chat_events', (jsonb_build_object('v', 1, 'type', p_type, 'user', p_user) || p_payload)::text)
$$;
comment on function internal.notify_user(text, uuid, jsonb) is 'Sends one user event envelope on the chat_events channel.';

/* Whole seconds since the epoch, as a JWT's iat counts them. */
create function internal.epoch_seconds(p_time timestamptz)
returns bigint
language sql immutable
as $$
  select floor(extract(epoch from p_time))::bigint
$$;
comment on function internal.epoch_seconds(timestamptz) is 'Whole seconds since the epoch (a JWT NumericDate).';

/*
 * Signs a user out everywhere: every token issued before now stops working. JWT iat has whole
 * seconds, so the rule is "iat >= tokens_valid_from" with tokens_valid_from the second after this
 * instant: a token issued earlier in this very second dies too. The gateway issues every later
 * token with iat = tokens_valid_from at least, so a token issued after the revocation, even in
 * the same second, lives. A second revocation in the same second moves the instant one second on,
 * so it also kills a token issued (with that iat) between the two. Returns the new instant.
 */
create function internal.revoke_tokens(p_user uuid)
returns timestamptz
language plpgsql volatile
as $$
declare
  v_valid_from timestamptz;
begin
  update app.users
     set tokens_valid_from = greatest(date_trunc('second', clock_timestamp()) + interval '1 second',
                                      tokens_valid_from + interval '1 second')
   where id = p_user
  returning tokens_valid_from into v_valid_from;
  if not found then
    raise exception 'invalid or expired token' using errcode = 'CUNFD';
  end if;
  perform internal.notify_user('user.revoked', p_user,
                               jsonb_build_object('valid_from', internal.epoch_seconds(v_valid_from)));
  return v_valid_from;
end
$$;
comment on function internal.revoke_tokens(uuid) is 'Moves the user''s tokens_valid_from past now and emits user.revoked; returns it.';
