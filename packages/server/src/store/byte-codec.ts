/**
 * Sequential binary writing and reading for the checkpoint file. Strings and byte strings carry a
 * u32 length; numbers are f64 (every offset, event number and attribute value is a safe integer).
 * Typed arrays are copied as raw bytes in the host's byte order, which the checkpoint header records.
 */
export class ByteWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialCapacity);
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  u32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeUInt32BE(value, this.length);
  }

  f64(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeDoubleBE(value, this.length);
  }

  bytes(value: Uint8Array): void {
    this.u32(value.byteLength);
    this.raw(value);
  }

  string(value: string): void {
    this.bytes(Buffer.from(value, 'utf8'));
  }

  /** A typed array's bytes as they are in memory; the reader knows the element count. */
  raw(value: ArrayBufferView): void {
    this.reserve(value.byteLength);
    this.buffer.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), this.length);
    this.length += value.byteLength;
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.byteLength * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

export class ByteReader {
  private position = 0;

  constructor(
    private readonly buffer: Buffer,
    private readonly describe: (problem: string) => Error,
  ) {}

  get remaining(): number {
    return this.buffer.byteLength - this.position;
  }

  u8(): number {
    this.need(1);
    return this.buffer[this.position++]!;
  }

  u32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.position);
    this.position += 4;
    return value;
  }

  f64(): number {
    this.need(8);
    const value = this.buffer.readDoubleBE(this.position);
    this.position += 8;
    return value;
  }

  /** A copy, so the file's buffer can be dropped. */
  bytes(): Buffer {
    const length = this.u32();
    this.need(length);
    const value = Buffer.from(this.buffer.subarray(this.position, this.position + length));
    this.position += length;
    return value;
  }

  string(): string {
    const length = this.u32();
    this.need(length);
    const value = this.buffer.toString('utf8', this.position, this.position + length);
    this.position += length;
    return value;
  }

  /** Fills target's memory with its byteLength bytes (copied: the source may not be aligned for it). */
  rawInto(target: ArrayBufferView): void {
    this.need(target.byteLength);
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(
      this.buffer.subarray(this.position, this.position + target.byteLength),
    );
    this.position += target.byteLength;
  }

  private need(bytes: number): void {
    if (this.position + bytes > this.buffer.byteLength) {
      throw this.describe(`ends at byte ${this.buffer.byteLength}, needs ${bytes} more at ${this.position}`);
    }
  }
}
