/*
 * Presence: each gateway process reports, about once a second, which users gained or lost their
 * last notification socket on it. This heartbeat also keeps the process alive in app.gateways;
 * a process silent for 15 seconds is dead and its users no longer count.
 *
 * The pool's "closed tab" rule hangs on this: a waiting user with no notification socket left on
 * any live process gets disconnected_at, and their entry stops matching 30 seconds later unless
 * a socket comes back first. Those changes are made under the pool's locks
 * (internal.lock_pool_entries says why). Returns the number of distinct users online across all
 * processes.
 */
create function api.sync_presence(p_gateway uuid, p_online uuid[], p_offline uuid[])
returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_orphans uuid[];
  v_online integer;
  v_waiting uuid[];
begin
  insert into app.gateways as g (id) values (p_gateway)
  on conflict (id) do update set heartbeat_at = now();

  delete from app.presence where gateway_id = p_gateway and user_id = any(p_offline);
  insert into app.presence (gateway_id, user_id)
  select p_gateway, u from unnest(p_online) u
  where exists (select from app.users where id = u)
  on conflict do nothing;

  -- users of dead processes lose their presence too
  with dead as (
    delete from app.gateways where heartbeat_at < now() - interval '15 seconds' returning id
  )
  select array_agg(distinct p.user_id) into v_orphans
  from app.presence p where p.gateway_id in (select id from dead);

  select count(distinct p.user_id)::integer into v_online
  from app.presence p join app.gateways g on g.id = p.gateway_id
  where g.heartbeat_at > now() - interval '15 seconds';

  -- last, so the pool's locks are held only for these two statements and the commit
  v_waiting := internal.lock_pool_entries(p_online || p_offline || coalesce(v_orphans, '{}'));
  update app.pool_entries e set disconnected_at = null
   where e.user_id = any(v_waiting) and e.user_id = any(p_online) and e.disconnected_at is not null;
  update app.pool_entries e set disconnected_at = now()
   where e.user_id = any(v_waiting) and e.user_id = any(p_offline || coalesce(v_orphans, '{}'))
     and e.disconnected_at is null
     and not exists (select from app.presence p where p.user_id = e.user_id);

  return v_online;
end
$$;
comment on function api.sync_presence(uuid, uuid[], uuid[]) is 'Heartbeat of a gateway with its presence changes; returns users online across all gateways.';

/* A gateway that shuts down cleanly takes its presence with it at once. */
create function api.gateway_stopped(p_gateway uuid)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_users uuid[];
  v_waiting uuid[];
begin
  select array_agg(user_id) into v_users from app.presence where gateway_id = p_gateway;
  delete from app.gateways where id = p_gateway; -- its presence rows go by cascade
  v_waiting := internal.lock_pool_entries(coalesce(v_users, '{}')); -- as in api.sync_presence
  update app.pool_entries e set disconnected_at = now()
   where e.user_id = any(v_waiting)
     and e.disconnected_at is null
     and not exists (select from app.presence p where p.user_id = e.user_id);
end
$$;
comment on function api.gateway_stopped(uuid) is 'Removes a stopping gateway and its presence.';
