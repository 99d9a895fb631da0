import type { MouseEvent, ReactNode } from 'react';
import { navigate } from '../app/navigate.ts';

/** A real link (it opens in a new tab, it is read as a link) that moves within the page when clicked plainly. */
export function Link({ href, children, className, current }: { href: string; children: ReactNode; className?: string; current?: boolean }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={onClick} className={className} aria-current={current ? 'page' : undefined}>{children}</a>;
}
