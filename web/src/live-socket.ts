/**
 * A WebSocket that reconnects by itself (backoff 0.5 s → 8 s, at once when the browser comes back
 * online) until stopped. The token travels as a `bearer.<jwt>` sub-protocol, never in the URL.
 * `url()` is asked again at every attempt, so a room socket can resume from its latest seq.
 */
export type Frame = Record<string, unknown> & { type: string };

export interface LiveSocketHandlers {
  onOpen(): void;
  onFrame(frame: Frame): void;
  /** The socket dropped and will be retried; `opened` tells whether it ever opened. */
  onDown(opened: boolean, code: number): void;
}

export class LiveSocket {
  private ws: WebSocket | undefined;
  private stopped = false;
  private attempt = 0;
  private retryTimer: number | undefined;
  private readonly wakeUp = () => this.retryNow();

  constructor(
    private readonly url: () => string,
    private readonly token: string,
    private readonly handlers: LiveSocketHandlers,
  ) {
    window.addEventListener('online', this.wakeUp);
    this.connect();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sends when open; false when the frame could not go (the caller keeps it for the next open). */
  send(frame: unknown): boolean {
    if (!this.isOpen) return false;
    this.ws!.send(JSON.stringify(frame));
    return true;
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.wakeUp);
    clearTimeout(this.retryTimer);
    this.ws?.close(1000);
  }

  private connect(): void {
    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
    const ws = new WebSocket(base + this.url(), [`bearer.${this.token}`]);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.handlers.onOpen();
    };
    ws.onmessage = (event) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(event.data)) as Frame;
      } catch {
        return;
      }
      if (frame && typeof frame.type === 'string') this.handlers.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = undefined;
      this.handlers.onDown(opened, event.code);
      if (this.stopped) return;
      const delay = Math.min(8000, 500 * 2 ** this.attempt++) * (0.75 + Math.random() / 2);
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private retryNow(): void {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }
}
