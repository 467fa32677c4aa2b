// Path routing on the History API: the URL is the state. Every filter lives in the query string,
// so a link (or a reload) reproduces the view.

class Router {
  path = $state(location.pathname);
  search = $state(location.search);

  constructor() {
    window.addEventListener('popstate', () => this.sync());
  }

  get query(): URLSearchParams {
    return new URLSearchParams(this.search);
  }

  private sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }

  navigate(url: string, opts: { replace?: boolean } = {}): void {
    const target = new URL(url, location.href);
    if (target.pathname + target.search === location.pathname + location.search) return;
    if (opts.replace === true) history.replaceState(null, '', target);
    else history.pushState(null, '', target);
    this.sync();
    if (opts.replace !== true) window.scrollTo(0, 0);
  }

  /** Same path, some query parameters changed (null or '' removes one). */
  setQuery(changes: Record<string, string | null | undefined>, opts: { replace?: boolean } = {}): void {
    const q = this.query;
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === undefined || v === '') q.delete(k);
      else q.set(k, v);
    }
    const s = q.toString();
    this.navigate(this.path + (s === '' ? '' : `?${s.replace(/%2C/g, ',').replace(/%7C/g, '|').replace(/%3A/g, ':')}`), opts);
  }
}

export const router = new Router();

/** Internal links without a page load. */
export function link(node: HTMLAnchorElement): { destroy(): void } {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const href = node.getAttribute('href');
    if (href === null || !href.startsWith('/')) return;
    e.preventDefault();
    router.navigate(href);
  };
  node.addEventListener('click', onClick);
  return { destroy: () => node.removeEventListener('click', onClick) };
}
