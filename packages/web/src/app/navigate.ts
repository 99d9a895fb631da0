/**
 * Moves to a page without a reload: the address changes and App, which listens for popstate,
 * shows the page the new path names (routes.ts).
 */
export function navigate(href: string): void {
  window.history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}
