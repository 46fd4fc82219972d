// Headers on every console response. The page holds no data of its own; what it shows comes from the admin
// API with the signed-in key, so the policy allows scripts, styles and requests from this origin only, and
// nothing inline (the console has no inline script or style).
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Unversioned file names: the browser revalidates each time (a 304 by ETag costs no body).
  'cache-control': 'no-cache',
};
