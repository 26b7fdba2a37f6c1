/*
 * Reactions: one per user per message, replaced on re-post, only by members of an open room.
 * Both room sides are told through reaction.changed; closing the room deletes them by cascade.
 */
create function internal.reactable_message(p_user uuid, p_message_id uuid)
returns table (room app.rooms, seq bigint)
language plpgsql volatile
as $$
begin
  return query
    select r, m.seq
    from app.messages m
    join app.rooms r on r.id = m.room_id
    where m.id = p_message_id and p_user in (r.user_a, r.user_b) and internal.room_is_open(r)
    -- a close waits for this reaction, or this reaction sees the room closed: never a reaction
    -- inserted for a message the close is deleting
    for share of r;
  if not found then
    raise exception 'message not found' using errcode = 'CMNFD';
  end if;
end
$$;
comment on function internal.reactable_message(uuid, uuid) is 'The open room and seq of a message the user may react to; CMNFD otherwise.';

create function api.react(p_user uuid, p_message_id uuid, p_emoji text)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms;
  v_emoji text := internal.trim_text(p_emoji);
begin
  select (t.room).* into v_room from internal.reactable_message(p_user, p_message_id) t;
  if coalesce(char_length(v_emoji), 0) not between 1 and 32 then
    raise exception 'emoji is required' using errcode = 'CVEMO';
  end if;

  insert into app.reactions (message_id, user_id, emoji) values (p_message_id, p_user, v_emoji)
  on conflict (message_id, user_id) do update set emoji = excluded.emoji, created_at = now();

  perform internal.notify('reaction.changed', v_room.id, array[v_room.user_a, v_room.user_b],
    jsonb_build_object('message_id', p_message_id, 'side', internal.room_side(v_room, p_user),
                       'user', p_user, 'alias', internal.visible_user_id(v_room, null, p_user),
                       'emoji', v_emoji, 'action', 'add'));
end
$$;
comment on function api.react(uuid, uuid, text) is 'Adds or replaces the caller''s reaction to a message of an open room; CMNFD, CVEMO.';

create function api.unreact(p_user uuid, p_message_id uuid)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, app, internal
as $$
declare
  v_room app.rooms;
begin
  select (t.room).* into v_room from internal.reactable_message(p_user, p_message_id) t;
  delete from app.reactions where message_id = p_message_id and user_id = p_user;
  if not found then
    raise exception 'no reaction to remove' using errcode = 'CRXNF';
  end if;

  perform internal.notify('reaction.changed', v_room.id, array[v_room.user_a, v_room.user_b],
    jsonb_build_object('message_id', p_message_id, 'side', internal.room_side(v_room, p_user),
                       'user', p_user, 'alias', internal.visible_user_id(v_room, null, p_user),
                       'action', 'remove'));
end
$$;
comment on function api.unreact(uuid, uuid) is 'Removes the caller''s reaction; CMNFD, CRXNF when there is none.';
