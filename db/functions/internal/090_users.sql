/*
 * The account a login identifier names: an email when it contains '@' (emails are stored
 * lower-cased), else a pseudo, both case-insensitive and trimmed (internal.trim_text). At most
 * one row: emails and pseudos are unique case-insensitively. Shared by the login rate limit and
 * the login itself, so both always agree on who an identifier is.
 */
create function internal.user_by_identifier(p_identifier text)
returns setof app.users
language sql stable
as $$
  select u.*
  from app.users u
  where case when p_identifier like '%@%'
             then u.email = lower(internal.trim_text(p_identifier))
             else lower(u.pseudo) = lower(internal.trim_text(p_identifier)) end
$$;
comment on function internal.user_by_identifier(text) is 'The user an email or pseudo names (case-insensitive), or no row.';
