// The API token (viewer or admin) kept in localStorage; `needed` opens the login screen after a 401.

const KEY = 'handlog.token';

function load(): string {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

class Auth {
  token = $state(load());
  needed = $state(false);
  reason = $state('');

  required(reason: string): void {
    this.needed = true;
    this.reason = reason;
  }

  signIn(token: string): void {
    this.token = token.trim();
    this.needed = false;
    this.reason = '';
    try {
      localStorage.setItem(KEY, this.token);
    } catch {
      // private mode: the token lives for this page only
    }
  }

  signOut(): void {
    this.token = '';
    try {
      localStorage.removeItem(KEY);
    } catch {
      // ignore
    }
  }
}

export const auth = new Auth();
