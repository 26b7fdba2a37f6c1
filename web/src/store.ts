/**
 * What every view shares: the user's active rooms with their unread badges, the online count and
 * the connection state. Views subscribe and re-render the part they show.
 */
import { api, type Room } from './api.js';

type Listener = () => void;

export class Store {
  rooms = new Map<string, Room>();
  /** Whether the list has been read from the server at least once. */
  loaded = false;
  onlineCount: number | undefined;
  /** Sockets that are down right now ("notifications", "room"): the banner shows while any is. */
  readonly down = new Set<string>();
  private listeners = new Set<Listener>();
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  /** Badges the notification socket set while a reload was in flight: newer than its answer. */
  private unreadDuringRefresh: Map<string, number> | undefined;

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    for (const listener of this.listeners) listener();
  }

  sortedRooms(): Room[] {
    const activity = (room: Room) => room.last_message?.sent_at ?? room.created_at;
    return [...this.rooms.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
  }

  /** Reloads the room list; calls that arrive during a reload share one more reload after it. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        this.unreadDuringRefresh = new Map();
        const { body } = await api.myRooms();
        this.rooms = new Map(body.map((room) => [room.id, room]));
        for (const [roomId, count] of this.unreadDuringRefresh) {
          const room = this.rooms.get(roomId);
          if (room) room.unread_count = count;
        }
        this.loaded = true;
        this.changed();
      } while (this.refreshAgain);
    })().finally(() => {
      this.refreshing = undefined;
      this.unreadDuringRefresh = undefined;
    });
    return this.refreshing;
  }

  setUnread(roomId: string, count: number): void {
    this.unreadDuringRefresh?.set(roomId, count);
    const room = this.rooms.get(roomId);
    if (!room || room.unread_count === count) return;
    room.unread_count = count;
    this.changed();
  }

  update(roomId: string, change: Partial<Room>): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    Object.assign(room, change);
    this.changed();
  }

  remove(roomId: string): void {
    if (this.rooms.delete(roomId)) this.changed();
  }

  setDown(name: string, isDown: boolean): void {
    if (isDown === this.down.has(name)) return;
    if (isDown) this.down.add(name);
    else this.down.delete(name);
    this.changed();
  }
}
