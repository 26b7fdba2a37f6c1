/* The contract's timestamp format: RFC 3339 in UTC with milliseconds, e.g. 2026-11-25T10:00:00.000Z. */
create function internal.iso_time(p_time timestamptz)
returns text
language sql immutable parallel safe
as $$
  select to_char(p_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
comment on function internal.iso_time(timestamptz) is 'RFC 3339 UTC timestamp with milliseconds, as every API response writes it.';
