/** The logged-in user, kept in localStorage so a reload (or another tab) stays logged in. */
export interface User {
  id: string;
  pseudo: string;
  email: string;
  country: string;
  created_at: string;
}

export interface Session {
  token: string;
  user: User;
}

const KEY = 'chat.session';

export function loadSession(): Session | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    return value && typeof value.token === 'string' && value.user ? value : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}

/** Calls back when another tab logs in or out. */
export function onSessionChange(callback: () => void): void {
  window.addEventListener('storage', (event) => {
    if (event.key === KEY) callback();
  });
}
