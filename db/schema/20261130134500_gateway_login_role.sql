-- migrate:up

/*
 * Least privilege that cannot be undone. The gateway's connections log in as chat_authenticator,
 * a role that may do nothing itself (NOINHERIT: it does not inherit what it is a member of) and is
 * a member of chat_gateway only. Every connection switches to chat_gateway (EXECUTE on api.*);
 * RESET ROLE or SET ROLE NONE gives back chat_authenticator, which has even less, and SET ROLE to
 * any other role or SET SESSION AUTHORIZATION is refused. The pattern is the "authenticator" role
 * of graphile/starter and PostgREST. The password is set at each start from the server's
 * configuration (src/db/roles.ts), never in a migration. What PUBLIC may do by default in a
 * database (temporary tables) is taken back at each start, also there: a database privilege is not
 * copied to a database cloned or restored from this one.
 */
do $$
begin
  if not exists (select from pg_roles where rolname = 'chat_authenticator') then
    create role chat_authenticator login noinherit;
  end if;
exception
  when duplicate_object or unique_violation then null; -- another database of the cluster won the race
end
$$;
grant chat_gateway to chat_authenticator;

-- migrate:down

revoke chat_gateway from chat_authenticator;
