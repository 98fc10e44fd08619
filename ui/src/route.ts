/** The page shown, from the URL's fragment (`#/`, `#/service/web`, `#/audit`, `#/flags`): links work without a server route. */
import { useEffect, useState } from 'react';

export type Page = { name: 'services' } | { name: 'service'; service: string } | { name: 'audit' } | { name: 'flags' };

export function parse(hash: string): Page {
  const path = hash.replace(/^#/, '');
  const m = /^\/service\/([^/?]+)/.exec(path);
  if (m) return { name: 'service', service: decodeURIComponent(m[1]!) };
  if (path.startsWith('/audit')) return { name: 'audit' };
  if (path.startsWith('/flags')) return { name: 'flags' };
  return { name: 'services' };
}

export function href(p: Page): string {
  return p.name === 'service' ? `#/service/${encodeURIComponent(p.service)}` : p.name === 'services' ? '#/' : `#/${p.name}`;
}

export function usePage(): Page {
  const [page, setPage] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const on = () => setPage(parse(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return page;
}
