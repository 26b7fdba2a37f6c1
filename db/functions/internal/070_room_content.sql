/*
 * Deleting rooms (an operator deleting a user cascades to their rooms) deletes their messages,
 * and so their reactions. This replaces a per-row foreign key on the hot insert path: see the
 * migration 20261125130000_messages_without_row_foreign_keys.
 */
create function internal.tg_rooms__delete_messages()
returns trigger
language plpgsql volatile
as $$
begin
  delete from app.messages m using deleted_rooms d where m.room_id = d.id;
  return null;
end
$$;
comment on function internal.tg_rooms__delete_messages() is 'Deletes the messages of deleted rooms (statement-level).';

create trigger _500_delete_messages
  after delete on app.rooms
  referencing old table as deleted_rooms
  for each statement
  execute function internal.tg_rooms__delete_messages();
