/*
 * Moves a member's read mark to a partner message (and so every earlier one), never backwards,
 * and recounts their unread badge. Emits read.moved only when the mark moved.
 * Returns the batch result object for event i. The room row is already locked by the caller.
 */
create function internal.mark_read(p_i integer, p_user uuid, p_room_id uuid, p_message_id uuid)
returns jsonb
language plpgsql volatile
as $$
declare
  v_room app.rooms;
  v_side text;
  v_seq bigint;
  v_read_at timestamptz := now();
begin
  select * into v_room from app.rooms where id = p_room_id;
  v_side := internal.room_side(v_room, p_user);
  if v_side is null then
    return jsonb_build_object('i', p_i, 'ok', false, 'code', 'room_not_found');
  elsif not internal.room_is_open(v_room) then
    return jsonb_build_object('i', p_i, 'ok', false, 'code', 'room_closed');
  end if;

  select m.seq into v_seq
  from app.messages m
  where m.id = p_message_id and m.room_id = p_room_id and m.sender_id <> p_user;
  if not found then
    return jsonb_build_object('i', p_i, 'ok', false, 'code', 'message_not_found');
  end if;

  if v_seq <= (case v_side when 'a' then v_room.read_seq_a else v_room.read_seq_b end) then
    return jsonb_build_object('i', p_i, 'ok', true, 'moved', false);
  end if;

  update app.rooms r
     set read_seq_a = case v_side when 'a' then v_seq else r.read_seq_a end,
         read_at_a  = case v_side when 'a' then v_read_at else r.read_at_a end,
         unread_a   = case v_side when 'a' then u.unread else r.unread_a end,
         read_seq_b = case v_side when 'b' then v_seq else r.read_seq_b end,
         read_at_b  = case v_side when 'b' then v_read_at else r.read_at_b end,
         unread_b   = case v_side when 'b' then u.unread else r.unread_b end
    from (select count(*)::integer as unread
          from app.messages m
          where m.room_id = p_room_id and m.seq > v_seq and m.sender_id <> p_user) u
   where r.id = p_room_id;

  perform internal.notify('read.moved', v_room.id, array[v_room.user_a, v_room.user_b],
    jsonb_build_object('side', v_side, 'reader', p_user, 'id', p_message_id, 'seq', v_seq,
                       'read_at', internal.iso_time(v_read_at)));
  return jsonb_build_object('i', p_i, 'ok', true, 'moved', true);
end
$$;
comment on function internal.mark_read(integer, uuid, uuid, uuid) is 'Moves a read high-water mark forward and recounts the badge; a post_events result.';
