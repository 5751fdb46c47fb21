/** JSON safe to embed in `<script type="application/json">`: no `</script>` or HTML comment can close it. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A same-site path to return to after login; anything else becomes `/`. */
export function safeNext(raw: unknown): string {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\'))
    return '/';
  if (raw.startsWith('/login') || raw.startsWith('/logout')) return '/';
  return raw.length > 2000 ? '/' : raw;
}
