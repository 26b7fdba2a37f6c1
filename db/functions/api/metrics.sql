/*
 * The gauges /metrics reads from the database on each scrape: users waiting in the pool (live
 * entries, every process) and how full PostgreSQL's NOTIFY queue is (at 1.0 every notifying
 * commit fails, so this is the alarm before the send path stops).
 */
create function api.metrics_gauges()
returns jsonb
language sql stable security definer
set search_path = pg_catalog, app, internal
as $$
  select jsonb_build_object(
    'waiting_users', (select count(*) from app.pool_entries e where internal.pool_entry_is_live(e)),
    'notify_queue_usage', pg_notification_queue_usage()
  )
$$;
comment on function api.metrics_gauges() is 'Database-side gauges for /metrics: waiting users and NOTIFY queue usage.';
