/**
 * Finding a match: worldwide or same country, then a waiting screen with the online count and a
 * cancel button. The match itself arrives as a `matched` event on the notification socket
 * (handled by the app), never by polling. Waiting survives a reload: the server keeps the place.
 */
import { api, ApiError } from './api.js';
import { countryName, flag } from './countries.js';
import { clear, h } from './dom.js';
import type { Session } from './session.js';
import type { Store } from './store.js';

const WAITING_KEY = 'chat.waiting';

export const isWaiting = () => sessionStorage.getItem(WAITING_KEY) === '1';
export const stopWaiting = () => sessionStorage.removeItem(WAITING_KEY);

export function renderLobby(container: HTMLElement, session: Session, store: Store, onMatched: (roomId: string) => void): () => void {
  const status = h('p', { class: 'form-error', role: 'alert' });

  const idle = () => {
    const worldwide = h('input', { type: 'radio', name: 'scope', id: 'scope-world', value: 'world', checked: true });
    const sameCountry = h('input', { type: 'radio', name: 'scope', id: 'scope-country', value: 'country' });
    const button = h('button', { type: 'submit', class: 'primary large' }, 'Find a match');
    const form = h(
      'form',
      { class: 'lobby', 'aria-label': 'Find a match' },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Who would you like to meet?'),
        h('div', { class: 'choice' }, worldwide, h('label', { for: 'scope-world' }, '🌍 Anyone, anywhere')),
        h(
          'div',
          { class: 'choice' },
          sameCountry,
          h('label', { for: 'scope-country' }, `${flag(session.user.country)} Someone from ${countryName(session.user.country)}`),
        ),
      ),
      status,
      button,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      button.disabled = true;
      status.textContent = '';
      try {
        const { body } = await api.joinPool(sameCountry.checked);
        if (body.room_id) {
          await store.refresh();
          onMatched(body.room_id);
          return;
        }
        sessionStorage.setItem(WAITING_KEY, '1');
        waiting();
      } catch (error) {
        if (error instanceof ApiError && error.code === 'already_in_pool') {
          sessionStorage.setItem(WAITING_KEY, '1');
          waiting();
          return;
        }
        status.textContent = error instanceof Error ? error.message : 'Could not join.';
        button.disabled = false;
      }
    });
    clear(
      container,
      h(
        'section',
        { class: 'card lobby-card', 'aria-labelledby': 'lobby-title' },
        h('h2', { id: 'lobby-title' }, 'Meet a stranger'),
        h('p', {}, 'You are matched with one person at a time. They only see your flag, never your pseudo.'),
        form,
      ),
    );
    button.focus();
  };

  const online = h('p', { class: 'online', 'aria-live': 'polite' });
  const showCount = () => {
    online.textContent =
      store.onlineCount === undefined ? '' : `${store.onlineCount} ${store.onlineCount === 1 ? 'person' : 'people'} online`;
  };
  const unsubscribe = store.subscribe(showCount);

  const waiting = () => {
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await api.leavePool();
      } catch (error) {
        // already matched or dropped: either way we are no longer waiting
        if (!(error instanceof ApiError && error.status === 404)) {
          status.textContent = error instanceof Error ? error.message : 'Could not cancel.';
          cancel.disabled = false;
          return;
        }
      }
      stopWaiting();
      idle();
    });
    showCount();
    clear(
      container,
      h(
        'section',
        { class: 'card waiting', 'aria-labelledby': 'waiting-title', 'aria-busy': 'true' },
        h('div', { class: 'spinner', 'aria-hidden': 'true' }),
        h('h2', { id: 'waiting-title' }, 'Looking for a stranger…'),
        online,
        status,
        cancel,
      ),
    );
    cancel.focus();
  };

  if (isWaiting()) waiting();
  else idle();
  return unsubscribe;
}
