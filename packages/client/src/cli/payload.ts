/** How event bytes are shown: as text (control bytes escaped), or as hex / base64 for binary data. */
export type PayloadFormat = 'text' | 'hex' | 'base64';

export const PAYLOAD_FORMATS: readonly PayloadFormat[] = ['text', 'hex', 'base64'];

/**
 * Text that is safe on a terminal and keeps one event per line: valid UTF-8 is shown as is, except
 * control characters (newlines included) and bytes that are not UTF-8, which are escaped as `\n`,
 * `\t`, `\xNN`. A backslash is doubled so that an escape can be told from the text.
 */
export function safeText(data: Buffer): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(data);
  if (!Buffer.from(text, 'utf8').equals(data)) return escapeBytes(data);
  return UNSAFE_CHARACTERS.test(text) ? text.replace(UNSAFE_CHARACTERS_ALL, escapeChar) : text;
}

// C0 and C1 controls (a terminal acts on them), the backslash (our escape), and the two Unicode
// line separators (they end a line in many viewers).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\\\u2028\u2029]/;
const UNSAFE_CHARACTERS_ALL = new RegExp(UNSAFE_CHARACTERS.source, 'g');

function escapeChar(char: string): string {
  switch (char) {
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default: {
      const code = char.charCodeAt(0);
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
}

/** Bytes that are not valid UTF-8: printable ASCII kept, every other byte as `\xNN`. */
function escapeBytes(data: Buffer): string {
  let out = '';
  for (const byte of data) {
    if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += escapeChar(String.fromCharCode(byte));
  }
  return out;
}

export function formatPayload(data: Buffer, format: PayloadFormat): string {
  switch (format) {
    case 'hex':
      return data.toString('hex');
    case 'base64':
      return data.toString('base64');
    case 'text':
      return safeText(data);
  }
}
