/** The list of active rooms with their unread badges (kept right by the notification socket). */
import { countryName, flag } from './countries.js';
import { clear, h } from './dom.js';
import type { Store } from './store.js';

export function renderRoomsList(container: HTMLElement, store: Store, currentRoomId: string | undefined): void {
  const rooms = store.sortedRooms();
  const items = rooms.map((room) => {
    const unread =
      room.unread_count > 0 ? h('span', { class: 'badge', 'aria-label': `${room.unread_count} unread` }, String(room.unread_count)) : null;
    const preview = room.last_message ? `${room.last_message.mine ? 'You: ' : ''}${room.last_message.content}` : 'No messages yet';
    return h(
      'li',
      {},
      h(
        'a',
        {
          href: `#/room/${room.id}`,
          class: `room-link${room.id === currentRoomId ? ' current' : ''}`,
          'aria-current': room.id === currentRoomId ? 'page' : undefined,
          'data-room-id': room.id,
        },
        h('span', { class: 'flag', role: 'img', 'aria-label': countryName(room.partner_country) }, flag(room.partner_country)),
        h('span', { class: 'room-text' }, h('span', { class: 'room-name' }, room.name), h('span', { class: 'preview' }, preview)),
        unread,
      ),
    );
  });
  clear(
    container,
    h('h2', { id: 'rooms-title' }, 'Your chats'),
    items.length > 0
      ? h('ul', { class: 'rooms', 'aria-labelledby': 'rooms-title' }, ...items)
      : h('p', { class: 'empty' }, 'No chats yet. Find a match to start one.'),
  );
}
