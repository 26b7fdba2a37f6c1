/**
 * Strings PostgreSQL cannot store as text: a NUL character, or UTF-16 that is not well formed (a
 * lone surrogate, which JSON.parse accepts from "\ud800"). Checked on every request body and
 * frame, so such input is a 4xx for its sender instead of a database error for everybody.
 *
 * Returns the path of the first such string ("body" for the top level or an object key).
 * Walks with an explicit stack, never recursion: a 64 KiB body may nest 32,000 levels deep, far
 * more than the call stack holds (a recursive walk threw RangeError and ended the process).
 */
export function findUnstorableString(root: unknown): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  const join = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (!isStorable(value)) return path || 'body';
    } else if (Array.isArray(value)) {
      // pushed last to first, so the first bad element is the one reported
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: join(path, i) });
    } else if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i]!;
        // a bad key is reported as its object's path
        stack.push(isStorable(key) ? { value: item, path: join(path, key) } : { value: key, path });
      }
    }
  }
  return undefined;
}

const isStorable = (text: string) => !text.includes('\u0000') && text.isWellFormed();
