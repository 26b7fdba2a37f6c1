/**
 * The web client's shell: logged out it shows log in / register; logged in it keeps one
 * notification socket (badges, matches, closings, online count), the rooms list and one main
 * panel chosen by the URL hash (`#/` find a match, `#/room/<id>` a chat). Hash routes never
 * collide with the API's paths.
 */
import { api, handleUnauthorized } from './api.js';
import { renderLogin, renderRegister } from './auth-view.js';
import { ChatView } from './chat-view.js';
import { countryName, flag } from './countries.js';
import { clear, h } from './dom.js';
import { LiveSocket } from './live-socket.js';
import { isWaiting, renderLobby, stopWaiting } from './lobby-view.js';
import { renderRoomsList } from './rooms-view.js';
import { clearSession, loadSession, onSessionChange, type Session } from './session.js';
import { Store } from './store.js';

const root = document.getElementById('app')!;

/** Everything that lives while a user is logged in; `stop` ends it. */
interface LoggedIn {
  stop(): void;
}

let current: LoggedIn | undefined;

function start(): void {
  current?.stop();
  current = undefined;
  const session = loadSession();
  if (session) {
    current = loggedIn(session);
    return;
  }
  const showAuth = () => {
    const onSession = () => {
      location.hash = '#/';
      start();
    };
    if (location.hash === '#/register') renderRegister(root, onSession);
    else renderLogin(root, onSession);
  };
  window.addEventListener('hashchange', showAuth);
  current = { stop: () => window.removeEventListener('hashchange', showAuth) };
  showAuth();
}

function loggedIn(session: Session): LoggedIn {
  const store = new Store();
  const main = h('main', { id: 'main', class: 'panel', tabindex: '-1' });
  const sidebar = h('nav', { class: 'sidebar', 'aria-label': 'Your chats' });
  const roomsBox = h('div', { class: 'rooms-box' });
  const banner = h('div', { class: 'banner', role: 'status' });
  const toasts = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
  const online = h('span', { class: 'online-count' });
  const logout = h('button', { type: 'button', class: 'secondary small' }, 'Log out');
  const layout = h('div', { class: 'layout' }, sidebar, main);
  sidebar.append(h('a', { href: '#/', class: 'button primary new-match' }, 'New match'), roomsBox);

  clear(
    root,
    h(
      'header',
      { class: 'topbar' },
      h('a', { href: '#/', class: 'brand' }, 'Stranger chat'),
      online,
      h('span', { class: 'me', title: countryName(session.user.country) }, `${flag(session.user.country)} ${session.user.pseudo}`),
      logout,
    ),
    banner,
    layout,
    toasts,
  );

  let chat: ChatView | undefined;
  let lobbyCleanup: (() => void) | undefined;
  let currentRoomId: string | undefined;

  const notice = (text: string) => {
    const toast = h('p', { class: 'toast' }, text);
    toasts.append(toast);
    window.setTimeout(() => toast.remove(), 6000);
  };

  const render = () => {
    renderRoomsList(roomsBox, store, currentRoomId);
    online.textContent = store.onlineCount === undefined ? '' : `${store.onlineCount} online`;
    banner.textContent = store.down.size > 0 ? 'Reconnecting…' : '';
    banner.classList.toggle('shown', store.down.size > 0);
  };
  store.subscribe(render);

  const route = () => {
    chat?.destroy();
    chat = undefined;
    lobbyCleanup?.();
    lobbyCleanup = undefined;
    const match = /^#\/room\/([0-9a-fA-F-]{36})$/.exec(location.hash);
    currentRoomId = match?.[1];
    layout.dataset.view = currentRoomId ? 'room' : 'home';
    if (currentRoomId) chat = new ChatView(main, session, store, currentRoomId);
    else lobbyCleanup = renderLobby(main, session, store, openRoom);
    render();
  };
  const openRoom = (roomId: string) => {
    location.hash = `#/room/${roomId}`;
  };
  window.addEventListener('hashchange', route);

  const onMatched = (roomId: string) => {
    stopWaiting();
    void store.refresh().catch(() => {});
    if (!currentRoomId) openRoom(roomId);
    else notice('You have a new match: see your chats.');
  };

  const notifications = new LiveSocket(() => '/ws/notifications', session.token, {
    onOpen: () => {
      store.setDown('notifications', false);
      // catch up on whatever happened while the socket was down (a match among it)
      const known = store.loaded ? new Set(store.rooms.keys()) : undefined;
      void store.refresh().then(
        () => {
          const fresh = [...store.rooms.keys()].find((id) => known && !known.has(id));
          if (fresh && isWaiting()) onMatched(fresh);
        },
        () => {},
      );
    },
    onFrame: (frame) => {
      switch (frame.type) {
        case 'online_count':
          store.onlineCount = Number(frame.count);
          store.changed();
          return;
        case 'unread':
          for (const entry of frame.rooms as Array<{ room_id: string; unread_count: number }>) {
            const known = store.rooms.has(entry.room_id);
            store.setUnread(entry.room_id, entry.unread_count);
            if (!known) void store.refresh().catch(() => {});
          }
          return;
        case 'new_message':
          if (store.rooms.has(String(frame.room_id)) && currentRoomId !== frame.room_id) {
            store.setUnread(String(frame.room_id), Number(frame.unread_count));
            void store.refresh().catch(() => {}); // for the preview line
          } else if (!store.rooms.has(String(frame.room_id))) {
            void store.refresh().catch(() => {});
          }
          return;
        case 'matched':
          onMatched(String(frame.room_id));
          return;
        case 'room_closed': {
          const roomId = String(frame.room_id);
          const name = store.rooms.get(roomId)?.name ?? 'Stranger';
          store.remove(roomId);
          if (chat && currentRoomId === roomId) chat.closed(String(frame.reason));
          else notice(frame.reason === 'expired' ? `Your chat with ${name} has expired.` : `${name} closed your chat.`);
          return;
        }
      }
    },
    onDown: () => store.setDown('notifications', true),
  });

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    notifications.stop();
    chat?.destroy();
    lobbyCleanup?.();
    window.removeEventListener('hashchange', route);
  };

  logout.addEventListener('click', async () => {
    logout.disabled = true;
    if (isWaiting()) await api.leavePool().catch(() => {});
    stopWaiting();
    clearSession();
    location.hash = '#/login';
    start();
  });

  route();
  return { stop };
}

handleUnauthorized(() => {
  clearSession();
  stopWaiting();
  location.hash = '#/login';
  start();
});
onSessionChange(start);
start();
