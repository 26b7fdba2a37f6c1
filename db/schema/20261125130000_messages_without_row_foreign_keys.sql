-- migrate:up

/*
 * The send path inserts thousands of messages a second, and each foreign key costs a lookup per
 * inserted row (measured: about a quarter of api.post_events' time with both). Both are already
 * guaranteed where messages are written: api.post_events inserts only under the room row's lock,
 * for one of the room's two members. What the room key also did — deleting a room's messages
 * with the room — is done by a statement-level trigger on app.rooms
 * (db/functions/internal/070_room_content.sql), which costs nothing on insert.
 */
alter table app.messages drop constraint messages_room_id_fkey;
alter table app.messages drop constraint messages_sender_id_fkey;

-- migrate:down

alter table app.messages add constraint messages_room_id_fkey
  foreign key (room_id) references app.rooms on delete cascade;
alter table app.messages add constraint messages_sender_id_fkey
  foreign key (sender_id) references app.users on delete cascade;
