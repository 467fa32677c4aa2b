// Light or dark theme: the system's preference until the user picks one, then remembered.

const KEY = 'handlog.theme';
type Theme = 'light' | 'dark';

function initial(): Theme {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved === 'light' || saved === 'dark') return saved;
  } catch {
    // ignore
  }
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

class ThemeState {
  current = $state<Theme>(initial());

  apply(): void {
    document.documentElement.dataset['theme'] = this.current;
  }

  toggle(): void {
    this.current = this.current === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(KEY, this.current);
    } catch {
      // ignore
    }
    this.apply();
  }
}

export const theme = new ThemeState();
