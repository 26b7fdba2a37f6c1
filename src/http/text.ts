/**
 * Strings PostgreSQL cannot store as text: a NUL character, or UTF-16 that is not well formed (a
 * lone surrogate, which JSON.parse accepts from "\ud800"). Checked on every request body and
 * frame, so such input is a 4xx for its sender instead of a database error for everybody.
 */
export function findUnstorableString(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') {
    return value.includes('\u0000') || !value.isWellFormed() ? path || 'body' : undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableString(value[i], `${path}${path ? '.' : ''}${i}`);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findUnstorableString(key, path) ? path || 'body' : findUnstorableString(item, `${path}${path ? '.' : ''}${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
