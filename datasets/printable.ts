/**
 * Text from an untrusted file, made safe to print in an error message: control characters (NUL,
 * ESC and the terminal escape sequences it starts, C1 controls), invisible format characters
 * (bidirectional overrides that reorder what a terminal shows) and line separators become visible
 * escapes like \x1b or \u202e, and very long text is cut, so a crafted header cannot rewrite or
 * flood the user's terminal. No Node imports: the browser build uses it too.
 */
export function printable(text: string, maxChars = 300): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}... (${text.length - maxChars} more characters)` : text;
  return cut.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => {
    const code = c.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
