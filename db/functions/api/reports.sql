/*
 * Reports the partner of a room (open or closed) to the operators. The report keeps the room's
 * metadata by value; with p_include_messages (the reporter's explicit consent) it also copies the
 * room's last 50 messages, each marked as the reporter's or the reported partner's, so closing or
 * expiry does not destroy the evidence. Without consent nothing of the content is kept.
 * One report per reporter and room (CRDUP); 10 reports per hour and user (CALIM).
 *
 * Suspension: when reports from at least p_threshold distinct users arrived within p_window, the
 * reported account is kept out of the pool for p_suspension (its waiting entry goes at once).
 * The reported user's row is locked first, so two reports at once are counted one after the other.
 */
create function api.report_room(
  p_user uuid,
  p_room_id uuid,
  p_reason text,
  p_note text default null,
  p_include_messages boolean default false,
  p_threshold integer default 3,
  p_window interval default interval '24 hours',
  p_suspension interval default interval '24 hours'
)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms := internal.member_room(p_user, p_room_id);
  v_partner uuid := internal.partner_of(v_room, p_user);
  v_note text := nullif(internal.trim_text(p_note), '');
  v_reporters integer;
begin
  if p_reason is null or p_reason not in ('spam', 'harassment', 'hate', 'sexual', 'violence', 'self_harm', 'underage', 'other') then
    raise exception 'reason must be one of spam, harassment, hate, sexual, violence, self_harm, underage, other'
      using errcode = 'CVINV', column = 'reason';
  end if;
  if char_length(v_note) > 500 then
    raise exception 'note must be at most 500 characters' using errcode = 'CVINV', column = 'note';
  end if;
  perform internal.count_user_action(p_user, 'report', 10, interval '1 hour');
  -- the room before the user, the order api.delete_account takes them in (no deadlock between them);
  -- the user's row lock counts concurrent reports of one user one after the other
  perform from app.rooms where id = p_room_id for key share;
  perform from app.users where id = v_partner for update;

  insert into app.reports (reporter_id, reported_id, room_id, reason, note, room_created_at, room_closed_at,
                           room_closed_reason, reporter_country, reported_country, messages)
  values (p_user, v_partner, p_room_id, p_reason, v_note, v_room.created_at, v_room.closed_at,
          internal.closed_reason(v_room),
          case when v_room.user_a = p_user then v_room.country_a else v_room.country_b end,
          case when v_room.user_a = p_user then v_room.country_b else v_room.country_a end,
          case when p_include_messages then (
            select coalesce(jsonb_agg(jsonb_build_object(
                     'seq', m.seq,
                     'from', case when m.sender_id = p_user then 'reporter' else 'reported' end,
                     'content', m.content,
                     'sent_at', internal.iso_time(m.sent_at)) order by m.seq), '[]'::jsonb)
            from (select * from app.messages where room_id = p_room_id order by seq desc limit 50) m)
          end)
  on conflict (room_id, reporter_id) do nothing;
  if not found then
    raise exception 'room already reported' using errcode = 'CRDUP';
  end if;

  select count(distinct r.reporter_id) into v_reporters
  from app.reports r
  where r.reported_id = v_partner and r.created_at > now() - p_window;
  if v_reporters >= p_threshold then
    update app.users set suspended_until = greatest(suspended_until, now() + p_suspension) where id = v_partner;
    delete from app.pool_entries where user_id = v_partner;
  end if;
end
$$;
comment on function api.report_room(uuid, uuid, text, text, boolean, integer, interval, interval) is 'Reports the partner of a room of the caller (optionally with its last 50 messages); suspends past the threshold; CRNFD, CVINV, CRDUP, CALIM.';
