/**
 * Moves to a page without a reload: the address changes and App, which listens for popstate,
 * shows the page the new path names (routes.ts).
 */
export function navigate(href: string): void {
  window.history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/**
 * Changes a page's choices (its filters) in the address without a reload. Replaced, not pushed:
 * Back leaves the page instead of stepping through each filter tried.
 */
export function refine(href: string): void {
  window.history.replaceState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}
