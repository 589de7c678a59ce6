/** Keys up to this many bytes are remembered; longer ones are decoded every time. */
const REMEMBERED_KEY_BYTES = 32;

/**
 * Decodes the routing keys of one segment's events, giving back the previous key's string while the
 * key's bytes repeat (runs of one key are the usual case: a segment holds the keys that hash to it).
 * Decoding a short string is a native call and a new string per event; comparing up to 32 bytes is a
 * few loads. The bytes are copied, never kept as a view: a reply's buffer may be reused (copyEventData).
 */
export class RoutingKeys {
  readonly #bytes = Buffer.alloc(REMEMBERED_KEY_BYTES);
  #length = -1;
  #key = '';

  /** The UTF-8 key in block[start, end). */
  decode(block: Buffer, start: number, end: number): string {
    const length = end - start;
    if (length === 0) return '';
    if (length === this.#length && this.#repeats(block, start, length)) return this.#key;
    const key = block.toString('utf8', start, end);
    if (length <= REMEMBERED_KEY_BYTES) {
      block.copy(this.#bytes, 0, start, end);
      this.#length = length;
      this.#key = key;
    }
    return key;
  }

  #repeats(block: Buffer, start: number, length: number): boolean {
    const bytes = this.#bytes;
    for (let i = 0; i < length; i++) if (block[start + i] !== bytes[i]) return false;
    return true;
  }
}
