/* The contract's message object for one viewer: own ids as they are, the partner's as alias. */
create function internal.message_json(p_message app.messages, p_room app.rooms, p_viewer uuid)
returns jsonb
language sql stable
as $$
  select jsonb_build_object(
    'id', p_message.id,
    'seq', p_message.seq,
    'sender_id', internal.visible_user_id(p_room, p_viewer, p_message.sender_id),
    'content', p_message.content,
    'is_read', p_message.seq <= case when p_message.sender_id = p_room.user_a then p_room.read_seq_b else p_room.read_seq_a end,
    'sent_at', internal.iso_time(p_message.sent_at),
    'client_id', case when p_message.sender_id = p_viewer then p_message.client_id end,
    'reactions', coalesce((
      select jsonb_agg(jsonb_build_object(
               'user_id', internal.visible_user_id(p_room, p_viewer, r.user_id),
               'emoji', r.emoji) order by r.created_at)
      from app.reactions r
      where r.message_id = p_message.id
    ), '[]'::jsonb)
  )
$$;
comment on function internal.message_json(app.messages, app.rooms, uuid) is 'The API message object from the viewer''s side.';
