/**
 * One open room: history paged upward, a room socket that resumes with `after_seq`, optimistic
 * sends keyed by `client_id` (kept in sessionStorage until acknowledged, so a reload or a dropped
 * connection retries them with the same id and the server stores each once), typing, read
 * ticks, reactions, the expiry countdown, a private rename and closing with confirmation.
 */
import { api, ApiError, type Message, type Room } from './api.js';
import { countryName, flag } from './countries.js';
import { clear, h } from './dom.js';
import { LiveSocket, type Frame } from './live-socket.js';
import { REACTIONS, renderMessage, type ChatMessage } from './message-view.js';
import type { Session } from './session.js';
import type { Store } from './store.js';
import { timeLeft } from './time.js';

interface Unsent {
  client_id: string;
  content: string;
  sent_at: string;
}

const TYPING_SHOWN_MS = 4000;
const TYPING_SEND_EVERY_MS = 1500;

export class ChatView {
  private room: Room | undefined;
  private socket: LiveSocket | undefined;
  private readonly order: ChatMessage[] = [];
  private readonly byId = new Map<string, ChatMessage>();
  private readonly byClientId = new Map<string, ChatMessage>();
  /** The last seq of the gap-free stream (history and message frames): where a resume starts. */
  private lastSeq = 0;
  /** Highest seq of mine the partner has read; a read frame for an unknown id waits here. */
  private readSeq = 0;
  private pendingReadId: string | undefined;
  /** Highest partner seq this view has told the server it read. */
  private readSentSeq = 0;
  private hasMore = false;
  private loadingEarlier = false;
  private lastTypingSent = 0;
  private typingTimer: number | undefined;
  private countdownTimer: number | undefined;
  private closedReason: string | undefined;
  private readonly cleanups: Array<() => void> = [];

  private readonly list = h('ol', { class: 'messages', role: 'log', 'aria-label': 'Messages', 'aria-live': 'polite' });
  private readonly scroller = h('div', { class: 'scroller', tabindex: '0', 'aria-label': 'Conversation' });
  private readonly earlier = h('button', { type: 'button', class: 'link earlier', hidden: true }, 'Load earlier messages');
  private readonly typing = h('p', { class: 'typing', role: 'status' });
  private readonly countdown = h('span', { class: 'countdown', title: 'Time before this chat disappears' });
  private readonly title = h('h2', { class: 'room-title', id: 'room-title' });
  private readonly footer = h('div', { class: 'chat-footer' });
  private readonly input = h('textarea', {
    id: 'composer-input',
    rows: '1',
    maxlength: '4000',
    placeholder: 'Write a message…',
    autocomplete: 'off',
  });
  private picker: HTMLElement | undefined;

  constructor(
    private readonly container: HTMLElement,
    private readonly session: Session,
    private readonly store: Store,
    private readonly roomId: string,
  ) {
    void this.start();
  }

  destroy(): void {
    this.socket?.stop();
    this.store.setDown('room', false);
    clearInterval(this.countdownTimer);
    clearTimeout(this.typingTimer);
    for (const cleanup of this.cleanups) cleanup();
  }

  /** The room closed or expired (from the notification socket or the room socket). */
  closed(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.socket?.stop();
    this.socket = undefined;
    this.store.setDown('room', false);
    this.store.remove(this.roomId);
    clearInterval(this.countdownTimer);
    sessionStorage.removeItem(this.outboxKey);
    this.container.querySelector('.room-actions')?.remove();
    this.countdown.textContent = '';
    this.typing.textContent = '';
    // the server deleted the messages with the room: show none
    this.list.replaceChildren();
    this.earlier.hidden = true;
    clear(
      this.footer,
      h(
        'div',
        { class: 'closed-notice', role: 'alert' },
        h('p', {}, reason === 'expired' ? 'This chat has expired. Its messages are gone.' : 'This chat was closed. Its messages are gone.'),
        h('a', { href: '#/', class: 'button primary' }, 'Find a new match'),
      ),
    );
  }

  private get partnerName(): string {
    return this.room?.name ?? 'Stranger';
  }

  private get outboxKey(): string {
    return `chat.outbox.${this.roomId}`;
  }

  private async start(): Promise<void> {
    clear(this.container, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
    let messages: Message[];
    try {
      const [room, page] = await Promise.all([api.room(this.roomId), api.messages(this.roomId).catch((error) => error as ApiError)]);
      this.room = room.body;
      if (!this.room.is_active) {
        this.renderShell();
        this.closed(this.room.closed_reason ?? 'closed');
        return;
      }
      if (page instanceof ApiError) throw page;
      messages = page.body;
      this.hasMore = page.headers.get('x-has-more') === 'true';
    } catch (error) {
      clear(
        this.container,
        h(
          'section',
          { class: 'card' },
          h('h2', {}, error instanceof ApiError && error.status === 404 ? 'This chat does not exist.' : 'This chat could not be loaded.'),
          h('p', {}, error instanceof Error ? error.message : ''),
          h('a', { href: '#/', class: 'button' }, 'Back'),
        ),
      );
      return;
    }
    this.renderShell();
    for (const message of messages) this.add(this.fromServer(message));
    for (const unsent of this.loadOutbox()) this.addUnsent(unsent);
    this.updateEarlier();
    this.scrollToBottom();
    this.openSocket();
    const onVisible = () => this.sendRead();
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', onVisible);
    this.cleanups.push(() => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
    });
  }

  private renderShell(): void {
    const room = this.room!;
    const renameButton = h('button', { type: 'button', class: 'secondary small' }, 'Rename');
    const closeButton = h('button', { type: 'button', class: 'danger small' }, 'Close chat');
    renameButton.addEventListener('click', () => this.rename());
    closeButton.addEventListener('click', () => this.confirmClose());
    this.title.textContent = room.name;
    this.tickCountdown();
    this.countdownTimer = window.setInterval(() => this.tickCountdown(), 1000);

    const form = h(
      'form',
      { class: 'composer', 'aria-label': 'Send a message' },
      h('label', { for: 'composer-input', class: 'sr-only' }, 'Message'),
      this.input,
      h('button', { type: 'submit', class: 'primary send', 'aria-label': 'Send' }, 'Send'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener('input', () => this.sendTyping());
    this.earlier.addEventListener('click', () => void this.loadEarlier());
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) void this.loadEarlier();
      },
      { root: this.scroller },
    );
    observer.observe(this.earlier);
    this.cleanups.push(() => observer.disconnect());

    clear(this.footer, this.typing, form);
    this.scroller.replaceChildren(this.earlier, this.list);
    clear(
      this.container,
      h(
        'section',
        { class: 'chat', 'aria-labelledby': 'room-title' },
        h(
          'header',
          { class: 'chat-header' },
          h('a', { href: '#/', class: 'back', 'aria-label': 'Back to your chats' }, '‹'),
          h('span', { class: 'flag big', role: 'img', 'aria-label': countryName(room.partner_country) }, flag(room.partner_country)),
          h('div', { class: 'room-heading' }, this.title, this.countdown),
          h('div', { class: 'room-actions' }, renameButton, closeButton),
        ),
        this.scroller,
        this.footer,
      ),
    );
    this.input.focus();
  }

  private tickCountdown(): void {
    if (!this.room || this.closedReason) return;
    const left = timeLeft(this.room.expires_at);
    this.countdown.textContent = `⏳ ${left} left`;
    this.countdown.setAttribute('aria-label', `Disappears in ${left}`);
  }

  // ---- messages on screen -------------------------------------------------------------------

  private fromServer(message: Message): ChatMessage {
    const mine = message.sender_id === this.session.user.id;
    if (mine && message.is_read) this.readSeq = Math.max(this.readSeq, message.seq);
    return {
      id: message.id,
      seq: message.seq,
      clientId: message.client_id ?? undefined,
      mine,
      content: message.content,
      sentAt: message.sent_at,
      delivery: mine ? (message.is_read ? 'read' : 'sent') : 'sent',
      reactions: new Map(message.reactions.map((r) => [r.user_id, r.emoji])),
      el: h('li', {}),
    };
  }

  /** Shows a stored message once: a second copy (resume, retry, another tab) is ignored. */
  private add(message: ChatMessage): ChatMessage {
    const pending = message.clientId && message.mine ? this.byClientId.get(message.clientId) : undefined;
    const known = message.id ? this.byId.get(message.id) : undefined;
    if (known) return known;
    if (pending && pending.id === undefined) {
      this.confirm(pending, message.id!, message.seq!, message.sentAt);
      return pending;
    }
    if (message.id) this.byId.set(message.id, message);
    if (message.clientId && message.mine) this.byClientId.set(message.clientId, message);
    if (message.seq !== undefined) this.lastSeq = Math.max(this.lastSeq, message.seq);
    this.draw(message);
    this.place(message);
    return message;
  }

  /** Confirmed messages in seq order, then unsent ones in the order they were written. */
  private place(message: ChatMessage): void {
    const at = this.order.indexOf(message);
    if (at >= 0) this.order.splice(at, 1);
    let index = this.order.length;
    if (message.seq !== undefined) {
      const later = this.order.findIndex((m) => m.seq === undefined || m.seq > message.seq!);
      if (later >= 0) index = later;
    }
    this.order.splice(index, 0, message);
    this.list.insertBefore(message.el, this.order[index + 1]?.el ?? null);
  }

  private draw(message: ChatMessage): void {
    renderMessage(message, this.session.user.id, this.partnerName, (m, button) => this.openPicker(m, button));
  }

  private confirm(message: ChatMessage, id: string, seq: number, sentAt: string): void {
    message.id = id;
    message.seq = seq;
    message.sentAt = sentAt;
    message.failure = undefined;
    message.delivery = seq <= this.readSeq || id === this.pendingReadId ? 'read' : 'sent';
    if (id === this.pendingReadId) this.readSeq = Math.max(this.readSeq, seq);
    this.byId.set(id, message);
    this.dropFromOutbox(message.clientId);
    this.draw(message);
    this.place(message);
  }

  private updateEarlier(): void {
    this.earlier.hidden = !this.hasMore;
  }

  private nearBottom(): boolean {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
  }

  private scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  private async loadEarlier(): Promise<void> {
    const oldest = this.order.find((m) => m.id !== undefined);
    if (!this.hasMore || this.loadingEarlier || !oldest) return;
    this.loadingEarlier = true;
    this.list.setAttribute('aria-busy', 'true');
    try {
      const { body, headers } = await api.messages(this.roomId, oldest.id);
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      for (const message of body) this.add(this.fromServer(message));
      this.hasMore = headers.get('x-has-more') === 'true';
      this.updateEarlier();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    } catch {
      // the button stays: the user can try again
    } finally {
      this.loadingEarlier = false;
      this.list.removeAttribute('aria-busy');
    }
  }

  // ---- the room socket ----------------------------------------------------------------------

  private openSocket(): void {
    this.socket = new LiveSocket(() => `/ws/${encodeURIComponent(this.roomId)}?after_seq=${this.lastSeq}`, this.session.token, {
      onOpen: () => {
        this.store.setDown('room', false);
        for (const message of this.order) {
          if (message.mine && message.id === undefined && message.delivery !== 'failed') this.transmit(message);
        }
        this.sendRead();
      },
      onFrame: (frame) => this.onFrame(frame),
      onDown: (opened) => {
        this.store.setDown('room', true);
        // a refused handshake says nothing in a browser: ask whether the room is still open
        if (!opened) void this.checkStillOpen();
      },
    });
  }

  private async checkStillOpen(): Promise<void> {
    try {
      const { body } = await api.room(this.roomId);
      if (!body.is_active) this.closed(body.closed_reason ?? 'closed');
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.closed('closed');
    }
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'message':
      case 'own_message': {
        const stick = this.nearBottom();
        const mine = frame.type === 'own_message';
        const message = this.add({
          id: String(frame.id),
          seq: Number(frame.seq),
          clientId: typeof frame.client_id === 'string' ? frame.client_id : undefined,
          mine,
          content: String(frame.content),
          sentAt: String(frame.sent_at),
          delivery: 'sent',
          reactions: new Map(),
          el: h('li', {}),
        });
        this.lastSeq = Math.max(this.lastSeq, Number(frame.seq));
        if (!mine) this.typing.textContent = '';
        this.store.update(this.roomId, { last_message: { id: message.id!, content: message.content, sent_at: message.sentAt, mine } });
        if (stick || mine) this.scrollToBottom();
        this.sendRead();
        return;
      }
      case 'message_ack': {
        const message = this.byClientId.get(String(frame.client_id));
        if (!message || message.id !== undefined) return;
        const id = String(frame.id);
        const copy = this.byId.get(id);
        if (copy) {
          // the same message already arrived (as own_message on a resume): keep one
          this.order.splice(this.order.indexOf(message), 1);
          message.el.remove();
          this.dropFromOutbox(message.clientId);
          return;
        }
        this.confirm(message, id, Number(frame.seq), String(frame.sent_at));
        this.store.update(this.roomId, { last_message: { id, content: message.content, sent_at: message.sentAt, mine: true } });
        return;
      }
      case 'typing':
        this.typing.textContent = `${this.partnerName} is typing…`;
        clearTimeout(this.typingTimer);
        this.typingTimer = window.setTimeout(() => (this.typing.textContent = ''), TYPING_SHOWN_MS);
        return;
      case 'read': {
        const read = this.byId.get(String(frame.id));
        if (!read?.seq) {
          this.pendingReadId = String(frame.id);
          return;
        }
        this.readSeq = Math.max(this.readSeq, read.seq);
        for (const message of this.order) {
          if (message.mine && message.seq !== undefined && message.seq <= this.readSeq && message.delivery !== 'read') {
            message.delivery = 'read';
            this.draw(message);
          }
        }
        return;
      }
      case 'reaction': {
        const message = this.byId.get(String(frame.message_id));
        if (!message) return;
        if (frame.action === 'add') message.reactions.set(String(frame.user_id), String(frame.emoji));
        else message.reactions.delete(String(frame.user_id));
        this.draw(message);
        return;
      }
      case 'room_closed':
        this.closed(String(frame.reason));
        return;
      case 'error':
        this.onError(frame);
        return;
    }
  }

  private onError(frame: Frame): void {
    if (frame.code === 'room_closed' || frame.code === 'room_not_found') {
      void this.checkStillOpen();
      return;
    }
    const message = typeof frame.client_id === 'string' ? this.byClientId.get(frame.client_id) : undefined;
    if (!message || message.id !== undefined) return;
    if (frame.code === 'unavailable' || frame.code === 'rate_limited') {
      // nothing was stored: the same client_id goes again shortly
      window.setTimeout(() => this.transmit(message), 1000);
      return;
    }
    message.delivery = 'failed';
    message.failure = String(frame.message ?? 'not sent');
    this.dropFromOutbox(message.clientId);
    this.draw(message);
  }

  // ---- sending ------------------------------------------------------------------------------

  private send(): void {
    const content = this.input.value.trim();
    if (!content || this.closedReason) return;
    this.input.value = '';
    const unsent: Unsent = { client_id: crypto.randomUUID(), content, sent_at: new Date().toISOString() };
    this.saveOutbox([...this.loadOutbox(), unsent]);
    const message = this.addUnsent(unsent);
    this.scrollToBottom();
    this.transmit(message);
  }

  private addUnsent(unsent: Unsent): ChatMessage {
    return this.add({
      clientId: unsent.client_id,
      mine: true,
      content: unsent.content,
      sentAt: unsent.sent_at,
      delivery: 'pending',
      reactions: new Map(),
      el: h('li', {}),
    });
  }

  /** Sends when the socket is open; otherwise the next open sends every unacknowledged message. */
  private transmit(message: ChatMessage): void {
    if (message.id !== undefined || this.closedReason) return;
    this.socket?.send({ type: 'message', content: message.content, client_id: message.clientId });
  }

  private loadOutbox(): Unsent[] {
    try {
      const value = JSON.parse(sessionStorage.getItem(this.outboxKey) ?? '[]') as Unsent[];
      return Array.isArray(value) ? value : [];
    } catch {
      return [];
    }
  }

  private saveOutbox(outbox: Unsent[]): void {
    if (outbox.length === 0) sessionStorage.removeItem(this.outboxKey);
    else sessionStorage.setItem(this.outboxKey, JSON.stringify(outbox));
  }

  private dropFromOutbox(clientId: string | undefined): void {
    const outbox = this.loadOutbox();
    const kept = outbox.filter((u) => u.client_id !== clientId);
    if (kept.length !== outbox.length) this.saveOutbox(kept);
  }

  private sendTyping(): void {
    const now = Date.now();
    if (this.input.value.trim() === '' || now - this.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    if (this.socket?.send({ type: 'typing' })) this.lastTypingSent = now;
  }

  /** Marks the newest partner message read while the page is in view (a high-water mark). */
  private sendRead(): void {
    if (document.visibilityState !== 'visible' || this.closedReason) return;
    let newest: ChatMessage | undefined;
    for (const message of this.order) {
      if (!message.mine && message.seq !== undefined && message.seq > this.readSentSeq) newest = message;
    }
    if (newest && this.socket?.send({ type: 'read', id: newest.id })) this.readSentSeq = newest.seq!;
  }

  // ---- reactions, rename, close -------------------------------------------------------------

  private openPicker(message: ChatMessage, button: HTMLButtonElement): void {
    const wasOpenHere = this.picker?.parentElement === message.el;
    this.closePicker();
    if (wasOpenHere) return;
    const mine = message.reactions.get(this.session.user.id);
    const picker = h(
      'div',
      { class: 'picker', role: 'group', 'aria-label': 'Reactions' },
      ...REACTIONS.map((emoji) => {
        const choice = h(
          'button',
          { type: 'button', 'aria-pressed': String(emoji === mine), 'aria-label': `${emoji === mine ? 'Remove' : 'React with'} ${emoji}` },
          emoji,
        );
        choice.addEventListener('click', () => void this.react(message, emoji));
        return choice;
      }),
    );
    picker.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        this.closePicker();
        button.focus();
      }
    });
    button.setAttribute('aria-expanded', 'true');
    message.el.append(picker);
    this.picker = picker;
    ((picker.querySelector('[aria-pressed="true"]') as HTMLElement) ?? (picker.firstElementChild as HTMLElement)).focus();
  }

  private closePicker(): void {
    this.picker?.parentElement?.querySelector('.react-btn')?.setAttribute('aria-expanded', 'false');
    this.picker?.remove();
    this.picker = undefined;
  }

  /** Same emoji again removes it; another one replaces it (one reaction per person). */
  private async react(message: ChatMessage, emoji: string): Promise<void> {
    this.closePicker();
    const me = this.session.user.id;
    const remove = message.reactions.get(me) === emoji;
    try {
      if (remove) await api.unreact(message.id!);
      else await api.react(message.id!, emoji);
      if (remove) message.reactions.delete(me);
      else message.reactions.set(me, emoji);
      this.draw(message);
      message.el.querySelector<HTMLElement>('.react-btn')?.focus();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) void this.checkStillOpen();
    }
  }

  private dialog(
    title: string,
    body: HTMLElement[],
    confirmLabel: string,
    confirmClass: string,
    onConfirm: () => Promise<string | undefined>,
  ): void {
    const error = h('p', { class: 'form-error', role: 'alert' });
    const confirm = h('button', { type: 'submit', class: confirmClass }, confirmLabel);
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const form = h(
      'form',
      {},
      h('h2', { id: 'dialog-title' }, title),
      ...body,
      error,
      h('div', { class: 'dialog-buttons' }, cancel, confirm),
    );
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' }, form);
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => dialog.remove());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      confirm.disabled = true;
      const failure = await onConfirm();
      if (failure === undefined) {
        dialog.close();
        return;
      }
      error.textContent = failure;
      confirm.disabled = false;
    });
    document.body.append(dialog);
    dialog.showModal();
  }

  private rename(): void {
    const input = h('input', {
      id: 'rename-input',
      type: 'text',
      maxlength: '64',
      value: this.partnerName,
      'aria-describedby': 'rename-hint',
    });
    this.dialog(
      'Rename this chat',
      [h('label', { for: 'rename-input' }, 'Name'), input, h('p', { class: 'hint', id: 'rename-hint' }, 'Only you see this name.')],
      'Save',
      'primary',
      async () => {
        try {
          const { body } = await api.rename(this.roomId, input.value);
          this.room!.name = body.room.name;
          this.title.textContent = body.room.name;
          this.store.update(this.roomId, { name: body.room.name });
          for (const message of this.order) if (!message.mine) this.draw(message);
          return undefined;
        } catch (error) {
          return error instanceof Error ? error.message : 'Could not rename.';
        }
      },
    );
    input.select();
  }

  private confirmClose(): void {
    this.dialog(
      'Close this chat?',
      [h('p', {}, 'It ends for both of you and every message is deleted. This cannot be undone.')],
      'Close chat',
      'danger',
      async () => {
        try {
          await api.close(this.roomId);
          this.closed('closed');
          return undefined;
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) {
            this.closed('closed');
            return undefined;
          }
          return error instanceof Error ? error.message : 'Could not close.';
        }
      },
    );
  }
}
