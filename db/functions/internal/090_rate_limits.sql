/*
 * Work an anonymous client can make the server do (an argon2id hash per login or registration)
 * is counted here, in app.rate_limits, before it is done: counting in SQL makes the limit hold
 * across every gateway process and against parallel requests (each attempt takes the key's row
 * lock). Raising CALIM rolls the attempt's own count back, so a refused attempt costs nothing.
 */

/* Seconds from now until p_until, rounded up, at least 1: the Retry-After of a CALIM. */
create function internal.seconds_until(p_until timestamptz)
returns text
language sql stable
as $$
  select greatest(1, ceil(extract(epoch from p_until - now())))::integer::text
$$;
comment on function internal.seconds_until(timestamptz) is 'Whole seconds until a time (at least 1), as Retry-After wants them.';

/*
 * A fixed window: at most p_limit attempts per key per p_window, then CALIM (p_message, detail =
 * seconds until the window ends). An attempt after the window starts a new one at 1.
 */
create function internal.count_attempt(p_key text, p_limit integer, p_window interval, p_message text)
returns void
language plpgsql volatile
as $$
declare
  v_row app.rate_limits;
begin
  insert into app.rate_limits as f (key, attempts, window_start)
  values (p_key, 1, now())
  on conflict (key) do update
    set attempts = case when f.window_start > now() - p_window then f.attempts + 1 else 1 end,
        window_start = case when f.window_start > now() - p_window then f.window_start else now() end
  returning * into v_row;

  if v_row.attempts > p_limit then
    raise exception '%', p_message using errcode = 'CALIM',
      detail = internal.seconds_until(v_row.window_start + p_window);
  end if;
end
$$;
comment on function internal.count_attempt(text, integer, interval, text) is 'Counts an attempt in a fixed window per key; CALIM (detail = retry-after seconds) beyond the limit.';

/*
 * Exponential backoff: the first p_free attempts of a key are free; from then on every attempt
 * blocks the key for p_base * 2^(n - p_free), at most p_max, and attempts while it is blocked
 * are refused (CALIM, detail = seconds left) without being counted. A key is forgotten a day
 * after its last block ended (or, never blocked, a day after its first attempt). Guessing stays
 * possible for its owner but costs an attacker hours: 5, then about one guess an hour.
 */
create function internal.count_backoff_attempt(p_key text, p_free integer, p_base interval, p_max interval, p_message text)
returns void
language plpgsql volatile
as $$
declare
  v_row app.rate_limits;
begin
  insert into app.rate_limits (key, attempts, window_start) values (p_key, 0, now())
  on conflict (key) do nothing;
  select * into v_row from app.rate_limits where key = p_key for update;

  if v_row.blocked_until > now() then
    raise exception '%', p_message using errcode = 'CALIM', detail = internal.seconds_until(v_row.blocked_until);
  end if;
  if coalesce(v_row.blocked_until, v_row.window_start) < now() - interval '1 day' then
    v_row.attempts := 0;
    v_row.window_start := now();
  end if;

  update app.rate_limits
     set attempts = v_row.attempts + 1,
         window_start = v_row.window_start,
         blocked_until = case when v_row.attempts + 1 >= p_free
                              then now() + least(p_max, p_base * power(2, v_row.attempts + 1 - p_free)) end
   where key = p_key;
end
$$;
comment on function internal.count_backoff_attempt(text, integer, interval, interval, text) is 'Counts an attempt with exponential backoff per key; CALIM (detail = retry-after seconds) while blocked.';
