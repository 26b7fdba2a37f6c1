/** One chat message on screen: its bubble, time, ticks (mine) and reactions. */
import { clear, h } from './dom.js';
import { timeOf } from './time.js';

export type Delivery = 'pending' | 'sent' | 'read' | 'failed';

export const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

export interface ChatMessage {
  id?: string;
  seq?: number;
  clientId?: string;
  mine: boolean;
  content: string;
  sentAt: string;
  delivery: Delivery;
  failure?: string;
  /** user id (own id or the partner's alias) → emoji */
  reactions: Map<string, string>;
  el: HTMLLIElement;
}

const DELIVERY_TEXT: Record<Delivery, [string, string]> = {
  pending: ['🕓', 'sending'],
  sent: ['✓', 'sent'],
  read: ['✓✓', 'read'],
  failed: ['!', 'not sent'],
};

/** Builds or rebuilds the element of a message; `onReact` opens the picker for it. */
export function renderMessage(
  message: ChatMessage,
  myId: string,
  partnerName: string,
  onReact: (message: ChatMessage, button: HTMLButtonElement) => void,
): void {
  const li = message.el;
  li.className = `msg ${message.mine ? 'mine' : 'theirs'}${message.delivery === 'failed' ? ' failed' : ''}`;
  if (message.id) li.dataset.id = message.id;
  if (message.clientId) li.dataset.clientId = message.clientId;
  if (message.mine) li.dataset.delivery = message.delivery;

  const counts = new Map<string, number>();
  for (const emoji of message.reactions.values()) counts.set(emoji, (counts.get(emoji) ?? 0) + 1);
  const myReaction = message.reactions.get(myId);
  const chips = [...counts].map(([emoji, count]) =>
    h(
      'span',
      { class: `chip${emoji === myReaction ? ' own' : ''}`, 'aria-label': `${emoji} ${count}${emoji === myReaction ? ', yours' : ''}` },
      count > 1 ? `${emoji} ${count}` : emoji,
    ),
  );

  const [tick, tickLabel] = DELIVERY_TEXT[message.delivery];
  const reactButton = message.id
    ? h(
        'button',
        { type: 'button', class: 'react-btn', 'aria-label': 'React to this message', 'aria-haspopup': 'true', 'aria-expanded': 'false' },
        '☺',
      )
    : null;
  reactButton?.addEventListener('click', () => onReact(message, reactButton));

  clear(
    li,
    h('span', { class: 'sr-only' }, message.mine ? 'You:' : `${partnerName}:`),
    h('div', { class: 'bubble' }, h('p', { class: 'text' }, message.content)),
    h(
      'div',
      { class: 'meta' },
      h('time', { datetime: message.sentAt }, timeOf(message.sentAt)),
      message.mine ? h('span', { class: `ticks ${message.delivery}`, title: tickLabel, 'aria-label': tickLabel }, tick) : null,
      message.failure ? h('span', { class: 'failure' }, message.failure) : null,
      reactButton,
    ),
    chips.length > 0 ? h('div', { class: 'reactions', 'aria-label': 'Reactions' }, ...chips) : null,
  );
}
